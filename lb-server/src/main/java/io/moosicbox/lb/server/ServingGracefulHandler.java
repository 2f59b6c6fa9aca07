package io.moosicbox.lb.server;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's graceful handler, except that a request arriving on an already open connection during
 * shutdown is served rather than answered 503: the client sent it before it could know, and a
 * load balancer must not fail it. Such requests are still counted, so the stop waits for them;
 * Jetty marks their HTTP/1.1 responses {@code Connection: close} and sends HTTP/2 GOAWAY, so each
 * connection takes at most one more request. New connections are refused once the listener closes.
 */
final class ServingGracefulHandler extends GracefulHandler {
    ServingGracefulHandler(org.eclipse.jetty.server.Handler handler) {
        super(handler);
    }

    @Override
    protected void handleShutdownRejection(Request request, Response response, Callback callback) {
        try {
            if (!getHandler().handle(request, response, callback)) {
                Response.writeError(request, response, callback, 404);
            }
        } catch (Throwable failure) {
            Response.writeError(request, response, callback, failure);
        }
    }
}
