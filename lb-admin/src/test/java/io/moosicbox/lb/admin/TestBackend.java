package io.moosicbox.lb.admin;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

/**
 * A real backend on a free loopback port: answers its name; {@code /hold} waits until {@link #release()};
 * {@code /cut} announces a megabyte, sends its name and fails (a backend that crashes mid-stream).
 */
final class TestBackend implements AutoCloseable {
    private final Server server = new Server();
    private final ServerConnector connector = new ServerConnector(server);
    private volatile CountDownLatch hold = new CountDownLatch(1);

    TestBackend(String name) throws Exception {
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                if (request.getHttpURI().getPath().equals("/cut")) {
                    response.getHeaders().put("Content-Length", 1 << 20);
                    response.write(false, ByteBuffer.wrap((name + "\n").getBytes(StandardCharsets.UTF_8)),
                            Callback.from(() -> callback.failed(new java.io.IOException("crashed")), callback::failed));
                    return true;
                }
                if (request.getHttpURI().getPath().equals("/hold")) {
                    hold.await(20, TimeUnit.SECONDS);
                }
                int status = request.getHttpURI().getPath().equals("/fail") ? 500 : 200;
                response.setStatus(status);
                response.write(true, ByteBuffer.wrap((name + "\n").getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        server.start();
    }

    String address() {
        return "127.0.0.1:" + connector.getLocalPort();
    }

    void release() {
        hold.countDown();
        hold = new CountDownLatch(1);
    }

    @Override
    public void close() throws Exception {
        hold.countDown();
        server.stop();
    }
}
