package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When a response's headers reach the client: as soon as the backend sent them, not with the
 * first body bytes. A backend that starts a transcode sends its headers and then thinks; a client
 * that saw nothing for that long would give up.
 */
class ResponseStartTest {
    private static final long THINK_MS = 1500;
    private Server backend;
    private LoadBalancer lb;

    @BeforeEach
    void start() throws Exception {
        // Headers at once (with a length for /known, chunked otherwise), the body after THINK_MS.
        backend = TestBalancer.serve(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                if (Request.getPathInContext(request).equals("/known")) {
                    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 5);
                }
                response.write(false, null, Callback.from(() -> CompletableFuture.delayedExecutor(THINK_MS, TimeUnit.MILLISECONDS)
                        .execute(() -> response.write(true, ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), callback)),
                        callback::failed));
                return true;
            }
        });
        lb = TestBalancer.start(Duration.ofSeconds(5), TestBalancer.cluster("round_robin", PoolSettings.defaults(), TestBalancer.url(backend)));
    }

    @AfterEach
    void stop() throws Exception {
        lb.stop();
        backend.stop();
    }

    @Test
    void headersOfAResponseWithALengthArriveBeforeItsBody() throws Exception {
        String headers = http11("/known");
        assertTrue(headers.contains("content-length: 5"), headers);
    }

    @Test
    void headersOfAResponseWithoutALengthArriveBeforeItsBody() throws Exception {
        // Connection: close, so the body may also run up to the close instead of chunks: no length either way.
        String headers = http11("/chunked");
        assertTrue(!headers.contains("content-length"), headers);
    }

    @Test
    void anHttp2ClientGetsTheHeadersFrameBeforeTheBody() throws Exception {
        HTTP2Client client = new HTTP2Client();
        client.start();
        try {
            Session session = client.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()), new Session.Listener() {})
                    .get(5, TimeUnit.SECONDS);
            long start = System.nanoTime();
            CompletableFuture<Integer> status = TestBalancer.http2Status(session, new MetaData.Request("GET",
                    HttpURI.from("http://127.0.0.1:" + lb.proxyPort() + "/known"), HttpVersion.HTTP_2, HttpFields.EMPTY));
            assertEquals(200, status.get(5, TimeUnit.SECONDS));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms < THINK_MS - 500, "the HEADERS frame came after " + ms + " ms, with the body");
        } finally {
            client.stop();
        }
    }

    /** @return the response's head, lower-cased, after checking that it came while the backend thought and that the body followed */
    private String http11(String path) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", lb.proxyPort())) {
            socket.setSoTimeout(5000);
            long start = System.nanoTime();
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: music.example.com\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                int b = in.read();
                assertTrue(b >= 0, "the connection closed before the headers ended: " + head);
                head.write(b);
            }
            long headersMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            String rest = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            long bodyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(rest.contains("hello"), "no body after the headers: " + rest);
            // The backend did think; otherwise the first check proves nothing.
            assertTrue(bodyMs >= THINK_MS - 100, "the body came after " + bodyMs + " ms");
            assertTrue(headersMs < THINK_MS - 500, "the headers came after " + headersMs + " ms, with the body");
            String text = head.toString(StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
            assertTrue(text.startsWith("http/1.1 200"), text);
            return text;
        }
    }
}
