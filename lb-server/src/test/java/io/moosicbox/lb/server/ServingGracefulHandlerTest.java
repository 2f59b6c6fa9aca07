package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.pool.TestBalancer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the balancer's graceful handler serves during shutdown, on a real Jetty server and a raw socket. */
class ServingGracefulHandlerTest {
    /** Far more than the socket buffers hold while the client does not read: the write stays pending. */
    private static final int BODY = 16 * 1024 * 1024;

    private final Set<String> handled = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean bodyWritten = new AtomicBoolean();
    private Server server;
    private ServerConnector connector;

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    /**
     * A keep-alive response written before the listener closed and finished after it: Jetty then
     * half-closes the connection but still reads the request the client sends next on it. That
     * request can never be answered, so it must not be handled (the client sends it again).
     */
    @Test
    void aRequestReadAfterJettyShutTheOutputIsNotHandled() throws Exception {
        start();
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(16 * 1024);
            socket.connect(new InetSocketAddress("127.0.0.1", connector.getLocalPort()));
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(get("first"));
            out.flush();
            TestBalancer.await("the first request handled", Duration.ofSeconds(10), () -> handled.contains("first"));
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 200") && !head.toLowerCase().contains("connection: close"), head);
            assertFalse(bodyWritten.get(), "the body's write is still pending, the client not reading");

            connector.shutdown();
            assertEquals(BODY, in.readNBytes(BODY).length);
            TestBalancer.await("the body written", Duration.ofSeconds(10), bodyWritten::get);

            // The response said keep-alive, so the client may send again, whatever FIN follows it.
            out.write(get("second"));
            out.flush();
            assertEquals("", readAll(in), "no answer can come on a half-closed connection");
        }
        assertFalse(handled.contains("second"), "the unanswerable request was handled: " + handled);
    }

    private void start() throws Exception {
        server = new Server();
        connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new ServingGracefulHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                String id = Request.extractQueryParameters(request).getValue("id");
                handled.add(id);
                response.getHeaders().put("Content-Length", BODY);
                // One write with last=true, begun before the shutdown: Jetty decided keep-alive already.
                response.write(true, ByteBuffer.allocate(BODY), Callback.from(() -> {
                    bodyWritten.set(true);
                    callback.succeeded();
                }, callback::failed));
                return true;
            }
        }));
        server.start();
    }

    private static byte[] get(String id) {
        return ("GET /?id=" + id + " HTTP/1.1\r\nHost: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    /** What arrives until the server closes the connection; a reset counts as a close. */
    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try {
            in.transferTo(all);
        } catch (SocketException reset) {
            // closed with the request unread
        }
        return all.toString(StandardCharsets.US_ASCII);
    }

}
