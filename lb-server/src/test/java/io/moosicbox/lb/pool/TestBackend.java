package io.moosicbox.lb.pool;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;

/**
 * A real HTTP backend on loopback for tests. Answers its name; {@code /echo} echoes the body,
 * {@code /hang} never answers (until stopped), {@code /reset} cuts the connection after part of
 * the body, {@code /big} streams until the client goes away, {@code /health} answers
 * {@link #healthStatus}. Every request waits {@link #delayMs} first.
 */
public final class TestBackend implements AutoCloseable {
    private static final List<Socket> REFUSING = new CopyOnWriteArrayList<>();

    /**
     * A loopback port that refuses connections for the rest of the test run: a socket bound to it
     * and never listening. A port found free and closed again can be taken by the next listener
     * started (another balancer's admin port once answered for a "dead" backend).
     */
    public static int refusingPort() throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        REFUSING.add(socket);
        return socket.getLocalPort();
    }

    public final String name;
    public final AtomicInteger delayMs = new AtomicInteger();
    public final AtomicInteger healthStatus = new AtomicInteger(200);
    public final AtomicInteger hits = new AtomicInteger();
    public final AtomicInteger concurrent = new AtomicInteger();
    public final AtomicInteger maxConcurrent = new AtomicInteger();
    private volatile CountDownLatch hang = new CountDownLatch(1);
    private Server server;
    private int port;

    private TestBackend(String name) {
        this.name = name;
    }

    public static TestBackend start(String name) throws Exception {
        TestBackend b = new TestBackend(name);
        b.startOn(0);
        return b;
    }

    /** Starts again on the same port, as a restarted backend would. */
    public void restart() throws Exception {
        startOn(port);
    }

    private void startOn(int onPort) throws Exception {
        hang = new CountDownLatch(1);
        server = new Server();
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(onPort);
        connector.setReuseAddress(true);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                serve(request, response, callback);
                return true;
            }
        });
        server.start();
        port = connector.getLocalPort();
    }

    private void serve(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        if (path.equals("/health")) {
            response.setStatus(healthStatus.get());
            Content.Sink.write(response, true, "health", callback);
            return;
        }
        hits.incrementAndGet();
        int now = concurrent.incrementAndGet();
        maxConcurrent.accumulateAndGet(now, Math::max);
        try {
            int delay = delayMs.get();
            if (delay > 0) {
                hang.await(delay, TimeUnit.MILLISECONDS);
            }
            switch (path) {
                case "/hang" -> {
                    hang.await(10, TimeUnit.SECONDS);
                    callback.failed(new IOException("stopped"));
                }
                case "/echo" -> {
                    String body = Content.Source.asString(request, StandardCharsets.UTF_8);
                    Content.Sink.write(response, true, name + ":" + body, callback);
                }
                case "/reset" -> {
                    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 100_000);
                    FutureCallback sent = new FutureCallback();
                    response.write(false, ByteBuffer.wrap(new byte[1000]), sent);
                    sent.get(5, TimeUnit.SECONDS);
                    request.getConnectionMetaData().getConnection().getEndPoint().close();
                    callback.failed(new IOException("reset on purpose"));
                }
                case "/big" -> {
                    ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
                    try {
                        for (int i = 0; i < 2000; i++) {
                            FutureCallback sent = new FutureCallback();
                            response.write(false, chunk.duplicate(), sent);
                            sent.get(5, TimeUnit.SECONDS);
                            Thread.sleep(2);
                        }
                        response.write(true, ByteBuffer.allocate(0), callback);
                    } catch (Exception e) {
                        callback.failed(e);
                    }
                }
                default -> Content.Sink.write(response, true, name, callback);
            }
        } finally {
            concurrent.decrementAndGet();
        }
    }

    public int port() {
        return port;
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    public void stop() throws Exception {
        hang.countDown();
        server.stop();
    }

    @Override
    public void close() throws Exception {
        if (server != null && server.isRunning()) {
            stop();
        }
    }
}
