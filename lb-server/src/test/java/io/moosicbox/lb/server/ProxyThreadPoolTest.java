package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.pool.TestBackend;
import io.moosicbox.lb.pool.TestBalancer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.strategy.AdaptiveExecutionStrategy;
import org.junit.jupiter.api.Test;

/** How the next request on an HTTP/1.1 keep-alive connection is read, on real sockets. */
class ProxyThreadPoolTest {
    private static final int REQUESTS = 20;

    /**
     * A response completed on another thread, as the proxy's are by the backend client: the
     * connection's next request is read by its selector, without a hand-off to a pool thread,
     * and handled there (never on a virtual thread, as it would be if the fill interest were
     * registered with Jetty's blocking default callback).
     */
    @Test
    void theNextRequestIsReadAndHandledByTheSelector() throws Exception {
        List<String> paths = new CopyOnWriteArrayList<>();
        ExecutorService backendThread = Executors.newSingleThreadExecutor();
        Server server = new Server(new ProxyThreadPool());
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                paths.add(path(Thread.currentThread()));
                backendThread.execute(() -> Content.Sink.write(response, true, "ok", callback));
                return true;
            }
        });
        server.start();
        try (Socket socket = connect(connector.getLocalPort())) {
            for (int i = 0; i < REQUESTS; i++) {
                socket.getOutputStream().write(get("/" + i));
                assertEquals("ok", readResponse(socket.getInputStream()));
            }
        } finally {
            server.stop();
            backendThread.shutdownNow();
        }
        assertEquals(REQUESTS, paths.size());
        // Every request is handled on the selector. The first comes with the connection; a response
        // that completes before its handler returns lets the selector's own loop read on.
        assertTrue(paths.stream().allMatch(p -> p.startsWith("selector,")), paths.toString());
        assertTrue(paths.contains("selector, next-request callback"), paths.toString());
    }

    /** Requests sent together: the ones already buffered behind the first are served in order. */
    @Test
    void pipelinedRequestsAreAnsweredInOrderThroughTheProxy() throws Exception {
        try (TestBackend backend = TestBackend.start("b")) {
            LoadBalancer lb = TestBalancer.start(Duration.ofSeconds(5),
                    TestBalancer.cluster("round_robin", io.moosicbox.lb.config.PoolSettings.defaults(), backend.url()));
            try (Socket socket = connect(lb.proxyPort())) {
                OutputStream out = socket.getOutputStream();
                out.write((post("one") + post("two") + post("three")).getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = socket.getInputStream();
                assertEquals("b:one", readResponse(in));
                assertEquals("b:two", readResponse(in));
                assertEquals("b:three", readResponse(in));
                // The connection still serves what comes after the pipelined burst.
                out.write(post("four").getBytes(StandardCharsets.US_ASCII));
                assertEquals("b:four", readResponse(in));
            } finally {
                lb.stop();
            }
        }
    }

    /** Where the handler runs: on a selector thread or not, and by which callback it got there. */
    private static String path(Thread thread) {
        assertFalse(thread.isVirtual(), "handled on a virtual thread");
        boolean selector = false;
        boolean nextRequest = false;
        for (StackTraceElement frame : thread.getStackTrace()) {
            // The selector's production loop, running what it produced on its own thread.
            selector |= frame.getClassName().equals(AdaptiveExecutionStrategy.class.getName())
                    && frame.getMethodName().equals("consumeTask");
            nextRequest |= frame.getClassName().equals(ProxyThreadPool.class.getName() + "$NextRequest");
        }
        return (selector ? "selector" : "pool thread") + ", " + (nextRequest ? "next-request callback" : "other callback");
    }

    private static Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port));
        socket.setSoTimeout(10_000);
        return socket;
    }

    static byte[] get(String path) {
        return ("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static String post(String body) {
        return "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    /** One 200 response with a Content-Length body; returns the body. */
    static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            assertTrue(b >= 0, "connection closed after " + head);
            head.write(b);
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        assertTrue(text.startsWith("HTTP/1.1 200"), text);
        int length = -1;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        assertTrue(length >= 0, "no Content-Length: " + text);
        return new String(in.readNBytes(length), StandardCharsets.US_ASCII);
    }
}
