package io.moosicbox.lb.proxy;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The body of every error the balancer makes itself: one short line, never a stack trace. */
public final class PlainTextError {
    private PlainTextError() {}

    /** Writes {@code "STATUS reason\n"} as the whole body; the status and headers are set by the caller. */
    public static void writeBody(HttpServletResponse response, int status, String reason) throws IOException {
        response.setContentType("text/plain;charset=utf-8");
        byte[] body = (status + " " + reason + "\n").getBytes(StandardCharsets.UTF_8);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
