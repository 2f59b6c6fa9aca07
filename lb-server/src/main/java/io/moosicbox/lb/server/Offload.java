package io.moosicbox.lb.server;

import java.util.concurrent.Executor;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Runs a handler that blocks (a servlet context: the admin API, WebSocket handshakes) on a
 * virtual thread. Jetty handles a request on the thread that read it only when every handler of
 * the server is non-blocking; this keeps the proxy's path that way while these few blocking
 * requests still get a thread of their own.
 */
final class Offload extends Handler.Wrapper {
    private final Executor executor;

    Offload(Handler blocking, Executor executor) {
        super(blocking);
        this.executor = executor;
    }

    @Override
    public InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        executor.execute(() -> {
            try {
                if (!super.handle(request, response, callback)) {
                    Response.writeError(request, response, callback, 404);
                }
            } catch (Throwable failure) {
                Response.writeError(request, response, callback, failure);
            }
        });
        return true;
    }
}
