package io.moosicbox.lb.server;

import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's graceful handler, except that a request arriving on an already open connection during
 * shutdown is served rather than answered 503: the client sent it before it could know, and a
 * load balancer must not fail it. Such requests are still counted, so the stop waits for them;
 * Jetty marks their HTTP/1.1 responses {@code Connection: close} and sends HTTP/2 GOAWAY, so each
 * connection takes at most one more request. New connections are refused once the listener closes.
 *
 * <p>One request is never served: an HTTP/1.1 request read on a connection whose output Jetty has
 * already shut. When a keep-alive response that began before the listener closed ends after it,
 * Jetty half-closes the connection (FIN) but still reads the next request, which the client had
 * every right to send on a connection it was told to keep. No answer can reach that client, so
 * the request must not reach a backend either: the connection is closed without forwarding it,
 * and the client, which got no byte of a response, sends it again (RFC 9110 9.2.2).
 */
final class ServingGracefulHandler extends GracefulHandler {
    ServingGracefulHandler(org.eclipse.jetty.server.Handler handler) {
        super(handler);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        if (request.getConnectionMetaData().getConnection() instanceof HttpConnection http
                && http.getEndPoint().isOutputShutdown()) {
            http.getEndPoint().close();
            callback.failed(new EofException("output already shut: request not forwarded"));
            return true;
        }
        return super.handle(request, response, callback);
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
