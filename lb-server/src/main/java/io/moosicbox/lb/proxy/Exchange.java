package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.Lease;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * One finished client request, as metrics and the access log see it.
 *
 * @param cluster         cluster name, or null when no route matched
 * @param backend         {@code host:port} of the last backend tried, or null when none was
 * @param method          request method
 * @param uri             path and query as the client sent them
 * @param status          status sent to the client (0 when the connection was cut before one was sent)
 * @param clientAddress   the client's IP address: the peer's, or behind a trusted proxy the one it forwarded ({@link ClientAddress})
 * @param protocol        such as HTTP/1.1 or HTTP/2.0
 * @param startNanos      {@link System#nanoTime()} when the request arrived
 * @param durationNanos   from arrival to the end of the response
 * @param upstreamNanos   from sending to the backend until its response headers; -1 when none came
 * @param retries         how many times the request was sent again to another backend
 * @param responseBytes   body bytes sent to the client
 * @param backendFailure  whether the backend failed (connect error, timeout, reset): what health counts
 * @param referer         the request's Referer header, or null
 * @param userAgent       the request's User-Agent header, or null
 * @param end             whether the response reached the client whole, and if not, who cut it
 * @param requestId       the {@link RequestId} the backend got (a refused request's own id, never sent on)
 */
public record Exchange(
        String cluster,
        String backend,
        String method,
        String uri,
        int status,
        String clientAddress,
        String protocol,
        long startNanos,
        long durationNanos,
        long upstreamNanos,
        int retries,
        long responseBytes,
        boolean backendFailure,
        String referer,
        String userAgent,
        End end,
        String requestId) {

    /**
     * How an exchange ended. A response cut in the middle still has the status it began with
     * (a 200 with half a track): this says whether the client got all of it, and if not, whose
     * doing that was, as HAProxy's termination state and its client and server abort counters do.
     */
    public enum End {
        /** The response reached the client whole (the balancer's own error answers included). */
        COMPLETE,
        /** The client hung up, reset its stream or stopped reading before the response was complete. */
        CLIENT,
        /** The backend failed (closed, reset, went silent) after the response had begun. */
        BACKEND,
        /** The balancer was stopping and cut what its shutdown timeout left running. */
        SHUTDOWN;

        private final String label = name().toLowerCase(java.util.Locale.ROOT);

        /** As the access log and the metrics write it. */
        public String label() {
            return label;
        }
    }

    /**
     * The WebSocket session this handshake began, once it has ended: timed from the handshake's
     * arrival to the session's end, with the payload bytes the client got and who ended it.
     */
    public Exchange sessionEnded(long durationNanos, long bytesToClient, End end) {
        return new Exchange(cluster, backend, method, uri, status, clientAddress, protocol, startNanos, durationNanos,
                upstreamNanos, retries, bytesToClient, backendFailure || end == End.BACKEND, referer, userAgent, end, requestId);
    }

    /**
     * A request the listener refused before any route was looked at (a limit, the rate limiter):
     * no cluster, no backend, timed from the request's arrival as Jetty saw it.
     */
    public static Exchange refused(Request request, String clientAddress, int status, long responseBytes, String requestId) {
        return of(request, clientAddress, status, responseBytes, null, null, request.getBeginNanoTime(), -1, 0, false, End.COMPLETE,
                requestId);
    }

    /** What a finished client request tells metrics and the access log. */
    static Exchange of(Request request, String clientAddress, int status, long responseBytes, Cluster cluster, Lease lease,
                       long startNanos, long upstreamNanos, int retries, boolean backendFailure, End end, String requestId) {
        return new Exchange(
                cluster != null ? cluster.name() : null,
                lease == null ? null : lease.backend().address(),
                request.getMethod(),
                request.getHttpURI().getPathQuery(),
                status,
                clientAddress,
                request.getConnectionMetaData().getProtocol(),
                startNanos,
                System.nanoTime() - startNanos,
                upstreamNanos,
                retries,
                responseBytes,
                backendFailure,
                request.getHeaders().get(HttpHeader.REFERER),
                request.getHeaders().get(HttpHeader.USER_AGENT),
                end,
                requestId);
    }
}
