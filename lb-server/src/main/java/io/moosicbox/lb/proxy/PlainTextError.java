package io.moosicbox.lb.proxy;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** The body of every error the balancer makes itself: one short line, never a stack trace. */
public final class PlainTextError {
    private static final String CONTENT_TYPE = "text/plain;charset=utf-8";

    private PlainTextError() {}

    /** Writes {@code "STATUS reason\n"} as the whole body; the status and headers are set by the caller. */
    public static void writeBody(HttpServletResponse response, int status, String reason) throws IOException {
        response.setContentType(CONTENT_TYPE);
        byte[] body = body(status, reason);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    /**
     * Answers with {@code status} and {@code "STATUS reason\n"}, replacing whatever the response
     * held; a 503 tells the client when to come back. The response must not be committed.
     */
    public static void write(Response response, int status, String reason, Callback callback) {
        write(response, status, reason, null, callback);
    }

    /** The same, carrying the request's {@link RequestId} when there is one, so that a user can quote it. */
    public static void write(Response response, int status, String reason, String requestId, Callback callback) {
        // The TLS listener's HSTS header is set before the request is handled: errors carry it too.
        HttpField hsts = response.getHeaders().getField(HttpHeader.STRICT_TRANSPORT_SECURITY);
        response.reset();
        if (hsts != null) {
            response.getHeaders().put(hsts);
        }
        response.setStatus(status);
        if (status == HttpStatus.SERVICE_UNAVAILABLE_503) {
            // Clients and other proxies back off instead of hammering a cluster with nothing ready.
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        if (requestId != null) {
            response.getHeaders().put(RequestId.HEADER, requestId);
        }
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, CONTENT_TYPE);
        byte[] body = body(status, reason);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    /** Why a cluster gave no backend: none is ready, or every ready one is at its {@code max_conns}. */
    static String unavailable(io.moosicbox.lb.pool.Cluster cluster) {
        return cluster.available().isEmpty() ? "no backend is available" : "every backend is at its connection limit";
    }

    private static byte[] body(int status, String reason) {
        return (status + " " + reason + "\n").getBytes(StandardCharsets.UTF_8);
    }
}
