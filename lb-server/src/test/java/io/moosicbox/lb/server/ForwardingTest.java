package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.ListenerLimits;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.discovery.HostResolver;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.proxy.Exchange;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What crosses the proxy besides the body: forwarding headers by trust, hop-by-hop headers both
 * ways, a backend's cookies to their own client only, and never the admin listener. The backend is a raw socket that records the request head
 * it received and answers with hop-by-hop headers of its own.
 */
class ForwardingTest {
    private static final String BACKEND_ANSWER = "HTTP/1.1 200 OK\r\nConnection: X-Internal, keep-alive\r\nX-Internal: secret\r\n"
            + "Keep-Alive: timeout=5\r\nX-Public: yes\r\nContent-Length: 7\r\n\r\nbackend";
    private final List<String> heads = new CopyOnWriteArrayList<>();
    private volatile String backendAnswer = BACKEND_ANSWER;
    private ServerSocket backend;
    private Thread backendThread;
    private LoadBalancer lb;

    private void start(List<String> trustedProxies) throws Exception {
        start(new ListenerLimits(0, 100, 0, trustedProxies));
    }

    private void start(ListenerLimits limits) throws Exception {
        backend = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        backendThread = Thread.ofVirtual().start(() -> {
            while (!backend.isClosed()) {
                try {
                    Socket s = backend.accept();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException closed) {
                    return;
                }
            }
        });
        ClusterConfig all = new ClusterConfig("all", List.of("*"), List.of("/"), "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse("http://127.0.0.1:" + backend.getLocalPort())), PoolSettings.defaults());
        LbConfig d = EnvConfig.defaults();
        LbConfig config = new LbConfig(new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                d.tls(), List.of(all), d.timeouts(), d.shutdown(), d.admin(), "info");
        lb = new LoadBalancer(config, HostResolver.system(), limits);
        lb.adminContext().addServlet(new ServletHolder(new HttpServlet() {
            @Override
            protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
                resp.getWriter().print("admin secret");
            }
        }), "/secret");
        lb.start();
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            while (true) {
                String head = readHead(in);
                if (head.isEmpty()) {
                    return;
                }
                heads.add(head);
                s.getOutputStream().write(backendAnswer.getBytes(StandardCharsets.ISO_8859_1));
            }
        } catch (IOException e) {
            // the proxy closed the connection
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.server().stop();
        }
        if (backend != null) {
            backend.close();
            backendThread.join(5000);
        }
    }

    @Test
    void forwardingHeadersFromAnUntrustedClientAreReplaced() throws Exception {
        start(List.of());
        String answer = ask("GET / HTTP/1.1\r\nHost: music.example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
                + "X-Forwarded-Host: evil\r\nForwarded: for=6.6.6.6\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
        String head = heads.getFirst().toLowerCase(Locale.ROOT);
        assertTrue(head.contains("\r\nx-forwarded-for: 127.0.0.1\r\n"), head);
        assertTrue(head.contains("\r\nx-forwarded-proto: http\r\n"), head);
        assertTrue(head.contains("\r\nx-forwarded-host: music.example.com\r\n"), head);
        assertFalse(head.contains("6.6.6.6"), head);
        assertFalse(head.contains("evil"), head);
    }

    /** A usable X-Request-Id is kept (an ingress set it), any other replaced; the balancer's own answers carry theirs. */
    @Test
    void everyRequestReachesTheBackendWithOneRequestId() throws Exception {
        start(List.of());
        ask("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
        ask("GET /b HTTP/1.1\r\nHost: h\r\nX-Request-Id: 4bf92f35-77b3_4da6.a3ce:92/9d+0=\r\n\r\n");
        ask("GET /c HTTP/1.1\r\nHost: h\r\nX-Request-Id: two words\r\n\r\n");
        ask("GET /d HTTP/1.1\r\nHost: h\r\nX-Request-Id: " + "x".repeat(129) + "\r\n\r\n");
        ask("GET /e HTTP/1.1\r\nHost: h\r\n\r\n");
        List<List<String>> ids = heads.stream().map(h -> h.lines().filter(l -> l.toLowerCase(Locale.ROOT).startsWith("x-request-id:"))
                .map(l -> l.substring(13).trim()).toList()).toList();
        assertEquals(5, ids.size(), heads.toString());
        ids.forEach(one -> assertEquals(1, one.size(), "one id each: " + ids));
        assertEquals("4bf92f35-77b3_4da6.a3ce:92/9d+0=", ids.get(1).getFirst());
        for (int i : new int[] {0, 2, 3, 4}) {
            assertTrue(ids.get(i).getFirst().matches("[0-9a-f]{32}"), ids.toString());
        }
        assertEquals(4, ids.stream().map(List::getFirst).filter(id -> id.matches("[0-9a-f]{32}")).distinct().count(), "new ids differ: " + ids);

        backendAnswer = "HTTP/1.1 2000 Nonsense\r\n\r\n";
        String answer = ask("GET /f HTTP/1.1\r\nHost: h\r\nX-Request-Id: quote-me\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 502 "), answer);
        assertTrue(answer.contains("\r\nX-Request-Id: quote-me\r\n"), "the user can quote it: " + answer);
    }

    /**
     * The listener's own refusals (400, 414, 431, 501, and 413 and 429 the same way) carry the id
     * their access log line has, as the proxy's errors do: a user who quotes it finds the line.
     */
    @Test
    void theListenersRefusalsCarryTheRequestIdOfTheirAccessLogLine() throws Exception {
        start(List.of());
        List<Exchange> reported = new CopyOnWriteArrayList<>();
        lb.setExchangeListener(reported::add);
        StringBuilder manyHeaders = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            manyHeaders.append("X-H").append(i).append(": v\r\n");
        }
        List<String> answers = List.of(
                ask("POST /a HTTP/1.0\r\nHost: h\r\nX-Request-Id: quote-me\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                ask("GET /" + "u".repeat(8300) + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
                ask("GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n" + manyHeaders + "\r\n"));
        TestBalancer.await("the refusals are reported", Duration.ofSeconds(5), () -> reported.size() == answers.size());
        for (int i = 0; i < answers.size(); i++) {
            String answer = answers.get(i);
            assertTrue(answer.matches("(?s)HTTP/1\\.1 4\\d\\d .*"), answer);
            String id = answer.lines().filter(l -> l.toLowerCase(Locale.ROOT).startsWith("x-request-id:"))
                    .map(l -> l.substring(13).trim()).findFirst().orElse(null);
            Exchange logged = reported.stream().filter(e -> answer.startsWith("HTTP/1.1 " + e.status() + " ")).findFirst().orElseThrow();
            assertEquals(logged.requestId(), id, "the answer's id is its access log line's: " + answer);
        }
        assertTrue(answers.getFirst().contains("\r\nX-Request-Id: quote-me\r\n"), answers.getFirst());
        assertTrue(heads.isEmpty(), "nothing reached the backend: " + heads);
    }

    /** The rate limiter's 429 and a declared body over MAX_BODY_SIZE (413) carry their id too. */
    @Test
    void theRateLimitersAndTheBodyLimitsRefusalsCarryTheRequestId() throws Exception {
        start(new ListenerLimits(10, 100, 1, List.of(), 1));
        List<Exchange> reported = new CopyOnWriteArrayList<>();
        lb.setExchangeListener(reported::add);
        String tooLarge = ask("POST /a HTTP/1.1\r\nHost: h\r\nX-Request-Id: big-1\r\nContent-Length: 11\r\nConnection: close\r\n\r\n");
        assertTrue(tooLarge.startsWith("HTTP/1.1 413 "), tooLarge);
        assertTrue(tooLarge.contains("\r\nX-Request-Id: big-1\r\n"), tooLarge);
        String limited = null;
        for (int i = 0; i < 5 && limited == null; i++) {
            String answer = ask("GET /b HTTP/1.1\r\nHost: h\r\nX-Request-Id: fast-" + i + "\r\nConnection: close\r\n\r\n");
            if (answer.startsWith("HTTP/1.1 429 ")) {
                limited = answer;
                assertTrue(answer.contains("\r\nX-Request-Id: fast-" + i + "\r\n"), answer);
            }
        }
        assertTrue(limited != null, "the rate limiter refused one");
        TestBalancer.await("the refusals are reported", Duration.ofSeconds(5),
                () -> reported.stream().filter(e -> e.status() == 413 || e.status() == 429).count() == 2);
        assertTrue(reported.stream().anyMatch(e -> e.status() == 413 && "big-1".equals(e.requestId())), reported.toString());
    }

    @Test
    void anAbsoluteFormHttpsTargetDoesNotMakeAPlainConnectionSecure() throws Exception {
        start(List.of());
        String answer = ask("GET https://music.example.com/x HTTP/1.1\r\nHost: music.example.com\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
        String head = heads.getFirst().toLowerCase(Locale.ROOT);
        assertTrue(head.contains("\r\nx-forwarded-proto: http\r\n"), head);
        assertTrue(head.contains(";proto=http\r\n"), head);
    }

    @Test
    void aTrustedProxyIsAppendedTo() throws Exception {
        start(List.of("10.0.0.0/8", "127.0.0.1"));
        ask("GET / HTTP/1.1\r\nHost: music.example.com\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
                + "Forwarded: for=203.0.113.7;proto=https\r\n\r\n");
        String head = heads.getFirst().toLowerCase(Locale.ROOT);
        assertTrue(head.contains("\r\nx-forwarded-for: 203.0.113.7, 127.0.0.1\r\n"), head);
        assertTrue(head.contains("\r\nx-forwarded-proto: https\r\n"), head);
        assertTrue(head.contains("\r\nforwarded: for=203.0.113.7;proto=https, for=127.0.0.1;"), head);
    }

    @Test
    void aTrustedProxyThatSpeaksOnlyForwardedIsAppendedTo() throws Exception {
        start(List.of("127.0.0.1"));
        ask("GET / HTTP/1.1\r\nHost: music.example.com\r\n"
                + "Forwarded: for=203.0.113.7;proto=https, for=\"[2001:db8::1]:4711\";by=\"_a,for=198.51.100.9\"\r\n\r\n");
        String head = heads.getFirst().toLowerCase(Locale.ROOT);
        assertTrue(head.contains("\r\nforwarded: for=203.0.113.7;proto=https, for=\"[2001:db8::1]:4711\";by=\"_a,for=198.51.100.9\", for=127.0.0.1;"), head);
        // A comma inside quotes separates nothing.
        assertTrue(head.contains("\r\nx-forwarded-for: 203.0.113.7, 2001:db8::1, 127.0.0.1\r\n"), head);
    }

    /** A proxy that writes only X-Forwarded-Proto, or only Forwarded: the scheme its client used stays. */
    @Test
    void aTrustedProxysSchemeAndHostStayWithoutAChainOfItsOwn() throws Exception {
        start(List.of("127.0.0.1"));
        ask("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: music.example.com\r\n\r\n");
        ask("GET / HTTP/1.1\r\nHost: a\r\nForwarded: for=6.6.6.6;proto=http, for=203.0.113.7;proto=https;host=music.example.com\r\n\r\n");
        String onlyProto = heads.get(0).toLowerCase(Locale.ROOT);
        assertTrue(onlyProto.contains("\r\nx-forwarded-proto: https\r\n"), onlyProto);
        assertTrue(onlyProto.contains("\r\nx-forwarded-host: music.example.com\r\n"), onlyProto);
        assertTrue(onlyProto.contains("\r\nx-forwarded-for: 127.0.0.1\r\n"), onlyProto);
        // The proxy's own element is the last one; the first is its client's words.
        String onlyForwarded = heads.get(1).toLowerCase(Locale.ROOT);
        assertTrue(onlyForwarded.contains("\r\nx-forwarded-proto: https\r\n"), onlyForwarded);
        assertTrue(onlyForwarded.contains("\r\nx-forwarded-host: music.example.com\r\n"), onlyForwarded);
    }

    /** A client's stray quote, passed on by a trusted proxy that appends to what it got, is no 500 and no lost report. */
    @Test
    void aMalformedChainFromATrustedProxyIsReadAsNginxReadsIt() throws Exception {
        start(List.of("127.0.0.1"));
        List<Exchange> reports = new CopyOnWriteArrayList<>();
        lb.setExchangeListener(reports::add);
        String quote = ask("GET / HTTP/1.1\r\nHost: a\r\nForwarded: for=\"203.0.113.7\r\n\r\n");
        String spaced = ask("GET / HTTP/1.1\r\nHost: a\r\nForwarded: for = 203.0.113.8\r\n\r\n");
        String xff = ask("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: \", 203.0.113.9\r\n\r\n");
        for (String answer : List.of(quote, spaced, xff)) {
            assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
        }
        assertTrue(heads.get(0).contains("\r\nX-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n"), heads.get(0));
        assertTrue(heads.get(1).contains("\r\nX-Forwarded-For: 203.0.113.8, 127.0.0.1\r\n"), heads.get(1));
        TestBalancer.await("three reports", Duration.ofSeconds(5), () -> reports.size() == 3);
        // Reports come after each answer, not always in the order of the requests.
        assertEquals(List.of("203.0.113.7", "203.0.113.8", "203.0.113.9"),
                reports.stream().map(Exchange::clientAddress).sorted().toList());
    }

    @Test
    void hopByHopHeadersAreStrippedBothWays() throws Exception {
        start(List.of());
        String answer = ask("GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Client-Hop\r\nX-Client-Hop: 1\r\nKeep-Alive: 300\r\n"
                + "Proxy-Authorization: Basic eDp5\r\nTE: trailers\r\nX-End: 1\r\n\r\n");
        String head = heads.getFirst().toLowerCase(Locale.ROOT);
        assertFalse(head.contains("x-client-hop"), head);
        assertFalse(head.contains("keep-alive: 300"), head);
        assertFalse(head.contains("proxy-authorization"), head);
        assertTrue(head.contains("x-end: 1"), head);
        String lower = answer.toLowerCase(Locale.ROOT);
        assertTrue(lower.contains("\r\nx-public: yes\r\n"), answer);
        assertFalse(lower.contains("x-internal"), answer);
        assertFalse(lower.contains("keep-alive: timeout"), answer);
    }

    @Test
    void aBackends204WithALengthReachesTheClientAsA204() throws Exception {
        start(List.of());
        // Wrong, and seen in the wild: a length on an answer that has no body.
        backendAnswer = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET /gone HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            String head = readHead(s.getInputStream());
            assertTrue(head.startsWith("HTTP/1.1 204 "), head);
            assertFalse(head.toLowerCase(Locale.ROOT).contains("content-length: 5"), head);
        }
    }

    /**
     * A HEAD of a transcode, or a 304, answered without a length: the client is told no length
     * either, not "content-length: 0" (the size of a track, for a player that asks with HEAD).
     */
    @Test
    void aBodilessAnswerWithoutALengthGetsNoneMadeUp() throws Exception {
        start(List.of());
        backendAnswer = "HTTP/1.1 200 OK\r\nContent-Type: audio/flac\r\nTransfer-Encoding: chunked\r\n\r\n";
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("HEAD /track/7 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            String head = readHead(s.getInputStream()).toLowerCase(Locale.ROOT);
            assertTrue(head.startsWith("http/1.1 200 "), head);
            assertFalse(head.contains("content-length"), head);
            backendAnswer = "HTTP/1.1 304 Not Modified\r\nETag: \"7\"\r\nTransfer-Encoding: chunked\r\n\r\n";
            // The same connection: nothing was written after the HEAD's headers that could be read as an answer.
            s.getOutputStream().write("GET /cover/7 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"7\"\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            String notModified = readHead(s.getInputStream()).toLowerCase(Locale.ROOT);
            assertTrue(notModified.startsWith("http/1.1 304 "), notModified);
            assertFalse(notModified.contains("content-length"), notModified);
            assertFalse(notModified.contains("transfer-encoding"), notModified);
        }
    }

    @Test
    void aBackendThatAnswersGarbageCountsAsFailing() throws Exception {
        start(List.of());
        // What an http:// backend URL that points at a TLS port, or at something that is not HTTP, answers.
        backendAnswer = "HTTP/1.1 2000 Nonsense\r\n\r\n";
        for (int i = 0; i < 3; i++) {
            try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertTrue(answer.startsWith("HTTP/1.1 502 "), answer);
            }
        }
        var backend = lb.router().cluster("all").backends().getFirst();
        assertEquals(3, backend.failures(), "last error: " + backend.lastError());
        // What the admin API shows: the cause, not Jetty's connection objects.
        assertTrue(backend.lastError().startsWith("BadResponse: the backend's response is not valid HTTP: ")
                && !backend.lastError().contains("@"), backend.lastError());
    }

    @Test
    void aBackends101ToARequestThatAskedForNoUpgradeIsA502() throws Exception {
        start(List.of());
        // Upgrade is hop-by-hop and never forwarded here (WebSocket has its own path): a 101 is the backend's error.
        backendAnswer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: something\r\nConnection: Upgrade\r\n\r\n";
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(answer.startsWith("HTTP/1.1 502 "), answer);
        }
    }

    /**
     * RFC 9110 7.8: a server that does not take an upgrade ignores it. Without {@code Connection:
     * Upgrade} (RFC 9110 7.6.1 makes Upgrade a connection option) or without a valid
     * {@code HTTP2-Settings} (RFC 7540 3.2.1) there is no h2c upgrade: the request is served over
     * HTTP/1.1, and the backend gets no Upgrade (hop-by-hop).
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "Upgrade: h2c\r\n",
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
        "Upgrade: h2c\r\nConnection: Upgrade\r\n",
        "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: *not base64*\r\n",
        "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABk\r\nHTTP2-Settings: AAMAAABk\r\n",
        "Upgrade: h2c\r\nConnection: Upgrade\r\nHTTP2-Settings: AAMAAABk\r\nHTTP2-Settings: AAMAAABk\r\n",
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    })
    void anUpgradeNotTakenIsIgnored(String upgrade) throws Exception {
        start(List.of());
        String answer = ask("GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + "X-End: 1\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 200 ") && answer.endsWith("backend"), answer);
        String head = heads.getFirst().toLowerCase(Locale.ROOT);
        assertFalse(head.contains("upgrade"), head);
        assertFalse(head.contains("http2-settings"), "hop-by-hop (RFC 7540 3.2.1):\n" + head);
        assertTrue(head.contains("x-end: 1"), head);
    }

    /**
     * A WebSocket handshake whose Connection does not name the upgrade option is no handshake
     * (RFC 9110 7.6.1, RFC 6455 4.2.1): the backend gets a plain GET and the client its answer,
     * on a connection that stays HTTP/1.1 for the next request.
     */
    @Test
    void aWebSocketHandshakeWithoutTheUpgradeOptionIsAPlainRequest() throws Exception {
        start(List.of());
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 200 "), head);
            assertEquals("backend", new String(in.readNBytes(7), StandardCharsets.ISO_8859_1));
            s.getOutputStream().write("GET /next HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 200 "), head);
            assertEquals("backend", new String(in.readNBytes(7), StandardCharsets.ISO_8859_1));
        }
        String first = heads.getFirst().toLowerCase(Locale.ROOT);
        assertTrue(first.startsWith("get /ws http/1.1\r\n") && !first.contains("upgrade"), first);
        assertTrue(heads.get(1).startsWith("GET /next HTTP/1.1\r\n"), heads.get(1));
    }

    /**
     * The admin listener ignores an upgrade it does not take as the proxy listeners do: without
     * {@code Connection: Upgrade} Jetty answered 400. It speaks no h2c, so a complete h2c upgrade is not taken either.
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "Upgrade: h2c\r\n",
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
        "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
    })
    void theAdminListenerIgnoresAnUpgradeNotTakenToo(String upgrade) throws Exception {
        start(List.of());
        String answer = ask(lb.adminPort(), "GET /secret HTTP/1.1\r\nHost: x\r\n" + upgrade + "\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 200 ") && answer.endsWith("admin secret"), answer);
    }

    @Test
    void aCompleteH2cUpgradeIsStillTaken() throws Exception {
        start(List.of());
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    + "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String head = readHead(s.getInputStream());
            assertTrue(head.startsWith("HTTP/1.1 101 "), head);
        }
    }

    /** As HAProxy does, OPTIONS * goes to a backend of the host's cluster, in asterisk form. */
    @Test
    void optionsAsteriskIsForwardedAsItIs() throws Exception {
        start(List.of());
        String answer = ask("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 200 ") && answer.endsWith("backend"), answer);
        assertTrue(heads.getFirst().startsWith("OPTIONS * HTTP/1.1\r\n"), heads.getFirst());
    }

    /**
     * RFC 9110 7.6.2: with Max-Forwards 0 the balancer is the last hop of an OPTIONS or TRACE and
     * answers it itself; TRACE reflects what it received (9.3.8), credentials left out.
     */
    @Test
    void optionsAndTraceWithNoForwardsLeftAreAnsweredByTheBalancer() throws Exception {
        start(List.of());
        for (String target : List.of("*", "/x")) {
            String answer = ask("OPTIONS " + target + " HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 200 ") && answer.endsWith("\r\n\r\n"), answer);
            assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\ncontent-length: 0\r\n"), answer);
        }
        // Reflected, the request would echo what a proxy in front added (an API key), on every host.
        String answer = ask("TRACE /x?q=1 HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\nX-Api-Key: secret\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 501 "), answer);
        assertFalse(answer.contains("secret"), answer);
        assertEquals(List.of(), heads, "nothing reached the backend");
    }

    /** RFC 9110 7.6.2: an OPTIONS or TRACE with forwards left goes on with one less; other methods and other values are untouched. */
    @Test
    void maxForwardsIsCountedDownOnOptionsAndTrace() throws Exception {
        start(List.of());
        List<String[]> cases = List.of(
                new String[] {"OPTIONS * HTTP/1.1\r\nHost: x\r\nMax-Forwards: 3\r\n\r\n", "max-forwards: 2"},
                new String[] {"TRACE / HTTP/1.1\r\nHost: x\r\nMax-Forwards: 1\r\n\r\n", "max-forwards: 0"},
                new String[] {"OPTIONS / HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0010\r\n\r\n", "max-forwards: 9"},
                new String[] {"GET / HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\n\r\n", "max-forwards: 0"},
                new String[] {"OPTIONS / HTTP/1.1\r\nHost: x\r\nMax-Forwards: two\r\n\r\n", "max-forwards: two"},
                new String[] {"OPTIONS / HTTP/1.1\r\nHost: x\r\nMax-Forwards: 99999999999999999999\r\n\r\n",
                    "max-forwards: 99999999999999999999"});
        for (int i = 0; i < cases.size(); i++) {
            String answer = ask(cases.get(i)[0]);
            assertTrue(answer.startsWith("HTTP/1.1 200 ") && answer.endsWith("backend"), answer);
            String head = heads.get(i).toLowerCase(Locale.ROOT);
            assertTrue(head.contains("\r\n" + cases.get(i)[1] + "\r\n"), cases.get(i)[0] + " -> " + head);
        }
    }

    @Test
    void interimAnswersGoToHttp11ClientsOnly() throws Exception {
        start(List.of());
        backendAnswer = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nbackend";
        for (String version : List.of("HTTP/1.1", "HTTP/1.0")) {
            try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write(("GET / " + version + "\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertTrue(answer.endsWith("backend"), answer);
                // RFC 9110 15.2: a server must not send a 1xx answer to an HTTP/1.0 client, which would take it for the final one.
                assertEquals(version.equals("HTTP/1.1"), answer.startsWith("HTTP/1.1 103 "), version + ": " + answer);
            }
        }
    }

    @Test
    void aBackendsCookieGoesToItsClientAndToNoOtherClient() throws Exception {
        start(List.of());
        backendAnswer = "HTTP/1.1 200 OK\r\nSet-Cookie: session=alice; Path=/\r\nContent-Length: 2\r\n\r\nok";
        String alice = ask("GET /login HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(alice.contains("\r\nSet-Cookie: session=alice; Path=/\r\n"), alice);
        ask("GET /library HTTP/1.1\r\nHost: x\r\n\r\n");
        // The proxy's HTTP client keeps no cookie jar: one would send Alice's session with the next user's requests.
        String bob = heads.get(1).toLowerCase(Locale.ROOT);
        assertTrue(bob.startsWith("get /library "), bob);
        assertFalse(bob.contains("cookie"), bob);
    }

    @Test
    void theAdminListenerIsNeverReachedThroughTheProxy() throws Exception {
        start(List.of());
        for (String host : List.of("127.0.0.1:" + lb.adminPort(), "localhost:" + lb.adminPort(), "127.0.0.1:" + lb.proxyPort())) {
            String answer = ask("GET /secret HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
            assertTrue(answer.endsWith("backend"), answer);
            assertFalse(answer.contains("admin secret"), answer);
        }
        assertEquals(3, heads.size());
        try (Socket admin = new Socket("127.0.0.1", lb.adminPort())) {
            admin.getOutputStream().write("GET /secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertTrue(new String(admin.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1).endsWith("admin secret"),
                    "the servlet is there on the admin listener");
        }
    }

    private String ask(String request) throws IOException {
        return ask(lb.proxyPort(), request);
    }

    private static String ask(int port, String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            String head = readHead(in);
            int at = head.toLowerCase(Locale.ROOT).indexOf("content-length: ");
            int len = Integer.parseInt(head.substring(at + 16, head.indexOf('\r', at)).trim());
            return head + new String(in.readNBytes(len), StandardCharsets.ISO_8859_1);
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                return "";
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }
}
