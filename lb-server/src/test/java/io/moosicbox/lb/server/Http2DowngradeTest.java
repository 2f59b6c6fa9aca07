package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.TestBalancer;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 clients (h2c here) whose requests become HTTP/1.1 toward the backend: what HTTP/2 lets
 * through that HTTP/1.1 parsing would have refused must not reach a backend, nor count against it.
 * The backend records the request line and the Cookie fields it got.
 */
class Http2DowngradeTest {
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private Server backend;
    private LoadBalancer lb;
    private HTTP2Client h2;

    @BeforeEach
    void start() throws Exception {
        backend = TestBalancer.serve(new Handler.Abstract() {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response, Callback callback) {
                seen.add(request.getMethod() + " " + request.getHttpURI().getPathQuery() + " cookies=" + request.getHeaders().getValuesList(HttpHeader.COOKIE));
                Content.Sink.write(response, true, "ok", callback);
                return true;
            }
        });
        lb = TestBalancer.start(Duration.ofSeconds(60), TestBalancer.cluster("round_robin", PoolSettings.defaults(), TestBalancer.url(backend)));
        h2 = new HTTP2Client();
        h2.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (h2 != null) {
            h2.stop();
        }
        if (lb != null) {
            lb.stop();
        }
        if (backend != null) {
            backend.stop();
        }
    }

    /** Sends one stream, headers only; @return the status, or -1 when the stream was reset. */
    private int send(Session session, String method, HttpFields fields) throws Exception {
        MetaData.Request request = new MetaData.Request(method, HttpURI.from("http://127.0.0.1:" + lb.proxyPort() + "/p"),
                HttpVersion.HTTP_2, fields);
        return TestBalancer.http2Status(session, request).get(10, TimeUnit.SECONDS);
    }

    private Session connect(CompletableFuture<Map<Integer, Integer>> settings) throws Exception {
        return h2.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()), new Session.Listener() {
            @Override
            public void onSettings(Session session, SettingsFrame frame) {
                settings.complete(frame.getSettings());
            }
        }).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aBodylessStreamThatAnnouncesALengthIsTheClientsFaultAndNeverTheBackends() throws Exception {
        Session session = connect(new CompletableFuture<>());
        // A negative length too: Jetty's HTTP/2 server lets it through, and its client refused to send it.
        for (String length : List.of("5", "-1", "-5", "5", "-1", "-5", "5", "-1")) {
            int status = send(session, "GET", HttpFields.build().put(HttpHeader.CONTENT_LENGTH, length));
            assertTrue(status == 400 || status == -1, "content-length " + length + ": the client's 400 or a reset, not a 502: " + status);
        }
        Backend b = TestBalancer.only(lb).backends().getFirst();
        assertEquals(0, b.failures(), "anyone could eject backends this way: " + b.lastError());
        assertNull(b.lastError());
        assertEquals(200, send(session, "GET", HttpFields.EMPTY), "the backend is still in rotation");
    }

    @Test
    void aMethodThatIsNoTokenIsRefusedBeforeItCanRewriteTheBackendsRequestLine() throws Exception {
        Session session = connect(new CompletableFuture<>());
        for (String method : List.of("GET /admin", "GET\t/admin", "")) {
            int status = send(session, method, HttpFields.EMPTY);
            assertTrue(status == 400 || status == -1, "'" + method + "': " + status);
        }
        assertEquals(List.of(), seen, "nothing reached the backend");
    }

    @Test
    void connectInAnyCaseIs501() throws Exception {
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("connect /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 501 "), answer);
        }
        assertEquals(List.of(), seen);
    }

    @Test
    void cookieFieldsBecomeOneCookieHeaderAndNoWebSocketOverHttp2IsAdvertised() throws Exception {
        CompletableFuture<Map<Integer, Integer>> settings = new CompletableFuture<>();
        Session session = connect(settings);
        assertEquals(200, send(session, "GET", HttpFields.build().add(HttpHeader.COOKIE, "a=1").add(HttpHeader.COOKIE, "b=2")));
        assertEquals(List.of("GET /p cookies=[a=1; b=2]"), seen);
        // Advertised, browsers would open /ws over HTTP/2 (RFC 8441), which the balancer does not bridge.
        Integer connectProtocol = settings.get(5, TimeUnit.SECONDS).get(SettingsFrame.ENABLE_CONNECT_PROTOCOL);
        assertTrue(connectProtocol == null || connectProtocol == 0, "ENABLE_CONNECT_PROTOCOL=" + connectProtocol);
    }
}
