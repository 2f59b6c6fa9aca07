package io.moosicbox.lb.proxy;

/**
 * One finished client request, as metrics and the access log see it.
 *
 * @param cluster         cluster name, or null when no route matched
 * @param backend         {@code host:port} of the last backend tried, or null when none was
 * @param method          request method
 * @param uri             path and query as the client sent them
 * @param status          status sent to the client (0 when the connection was cut before one was sent)
 * @param clientAddress   the client's IP address
 * @param protocol        such as HTTP/1.1 or HTTP/2.0
 * @param startNanos      {@link System#nanoTime()} when the request arrived
 * @param durationNanos   from arrival to the end of the response
 * @param upstreamNanos   from sending to the backend until its response headers; -1 when none came
 * @param retries         how many times the request was sent again to another backend
 * @param responseBytes   body bytes sent to the client
 * @param backendFailure  whether the backend failed (connect error, timeout, reset): what health counts
 * @param referer         the request's Referer header, or null
 * @param userAgent       the request's User-Agent header, or null
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
        String userAgent) {}
