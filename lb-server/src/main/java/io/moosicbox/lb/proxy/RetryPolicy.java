package io.moosicbox.lb.proxy;

import java.util.Set;

/**
 * Which failed attempts may go to another backend. A request that never reached the backend
 * (the connection failed before anything was sent) is safe to send again whatever its method.
 * Once sent, only an idempotent request without a body is, and only while no answer began:
 * a body may be half-consumed, and a POST may have taken effect. A backend that timed out is
 * not retried: the client would wait the timeout again for each try.
 */
final class RetryPolicy {
    private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE");

    private RetryPolicy() {}

    /**
     * @param sent     whether a connection was up and the request began to go out
     * @param answered whether the backend's response began
     */
    static boolean permits(String method, boolean hasBody, boolean sent, boolean answered, boolean timedOut,
                           int retriesSoFar, int maxRetries) {
        if (retriesSoFar >= maxRetries || answered) {
            return false;
        }
        if (!sent) {
            return true;
        }
        return !timedOut && !hasBody && IDEMPOTENT.contains(method);
    }
}
