package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One client request while it is proxied, across its attempts (a retry is a new {@link Attempt}
 * on another backend). It is also the callback that ends the client's exchange, so that every
 * way a request ends (answered, error, cut) is reported once. Fields read from another callback
 * of the exchange are volatile: Jetty runs them one after another, not always on one thread.
 */
final class ProxyExchange implements Callback {
    final Request request;
    final Response response;
    private final Callback callback;
    private final Reporter reporter;
    final long startNanos = System.nanoTime();
    /** Sent to every backend tried, and on the balancer's own error answers. */
    final String requestId;
    volatile Cluster cluster;
    /** The current try; null while no backend was picked. */
    volatile Attempt attempt;
    volatile int retries;
    /** The backends failed on so far; made on the first retry. */
    private Set<Backend> tried;
    /** The client hung up, stopped reading or sent a broken body: says nothing about the backend. */
    volatile boolean clientFailure;
    /**
     * A write to the client is in flight, and the backend's connection is not read until it
     * completes: a timeout on the backend's side then is the client's (a paused player), not the backend's.
     */
    volatile boolean waitingForClient;
    /** When the client last took a write whole (System.nanoTime()); the backend's connection is read again right after. */
    volatile long clientTookNanos = startNanos;
    /**
     * Whether a failure on the backend's side says nothing about the backend: the client hung up,
     * stopped reading or sent a broken body, or the backend went silent only because its connection
     * was not read while a write to the client waited (a paused player). A reset or a close that
     * comes while such a write waits is still the backend's: under load the write of a response's
     * first bytes can wait when a crashing backend's reset is read.
     */
    boolean excusesBackend(Throwable failure) {
        return excusesBackend(clientFailure, waitingForClient, failure);
    }

    static boolean excusesBackend(boolean clientFailure, boolean waitingForClient, Throwable failure) {
        return clientFailure || (waitingForClient && isTimeout(failure));
    }

    private static boolean isTimeout(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.util.concurrent.TimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** The backend failed after the response had begun, and the client's response was cut for it. */
    volatile boolean backendCut;
    /**
     * The response's end was handed to the client's connection. A client may hang up as soon as
     * it has it (curl does), and over HTTP/2 that can fail the last write although every byte went out.
     */
    volatile boolean responseWritten;
    /** The Max-Forwards the backend gets instead of the client's (RFC 9110 7.6.2); -1: the client's, if any, as it came. */
    long maxForwards = -1;
    /** Whether the request has a body to forward; decided once, when it arrives. */
    boolean hasBody;
    /** The body's first chunk, when it was read to find out whether there is a body; the copy takes it first. */
    final AtomicReference<Content.Chunk> peeked = new AtomicReference<>();

    /** Told once, when the client's exchange ends. */
    interface Reporter {
        /** @param failure why the response ended before it was complete; null when it was not */
        void report(ProxyExchange exchange, Throwable failure);
    }

    ProxyExchange(Request request, Response response, Callback callback, Reporter reporter) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.reporter = reporter;
        this.requestId = RequestId.of(request);
    }

    @Override
    public void succeeded() {
        releasePeeked();
        reporter.report(this, null);
        callback.succeeded();
    }

    @Override
    public void failed(Throwable failure) {
        releasePeeked();
        reporter.report(this, failure);
        callback.failed(failure);
    }

    /** Adds a backend the exchange failed on; retries run one after the other, never at once. */
    Set<Backend> tried(Backend failed) {
        if (tried == null) {
            tried = new HashSet<>(4);
        }
        tried.add(failed);
        return tried;
    }

    /** A body chunk read ahead and never copied (no backend took the request) goes back to its pool. */
    private void releasePeeked() {
        Content.Chunk chunk = peeked.getAndSet(null);
        if (chunk != null) {
            chunk.release();
        }
    }

    @Override
    public InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }
}
