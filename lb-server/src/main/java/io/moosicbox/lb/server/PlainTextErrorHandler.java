package io.moosicbox.lb.server;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The errors Jetty answers itself on the proxy listeners (a request it cannot parse, a header
 * block too large) in the balancer's own form, {@code "STATUS reason\n"} as plain text: not
 * Jetty's HTML page, which echoes the request's URI, whatever the client's Accept says.
 */
final class PlainTextErrorHandler extends ErrorHandler {
    PlainTextErrorHandler() {
        setShowStacks(false);
        setShowCauses(false);
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback)
            throws IOException {
        if (!generateAcceptableResponse(request, response, callback, "text/plain", List.of(StandardCharsets.UTF_8), code, message, cause)) {
            callback.succeeded();
        }
    }

    @Override
    protected void writeErrorPlain(Request request, PrintWriter writer, int code, String message, Throwable cause) {
        // An exception that is not an HTTP error is the balancer's own fault: its text is for the log, not the client.
        boolean internal = cause != null && !(cause instanceof HttpException);
        String reason = internal || message == null || message.isBlank() ? HttpStatus.getMessage(code) : message;
        writer.write(code + " " + reason + "\n");
    }
}
