package io.moosicbox.lb.websocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.ListenerLimits;
import io.moosicbox.lb.discovery.HostResolver;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.TestBackend;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.proxy.ExchangeListener;
import io.moosicbox.lb.server.LoadBalancer;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.exceptions.UpgradeException;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The real balancer in front of a real Jetty WebSocket backend, driven by Jetty's WebSocket client. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebSocketProxyTest {
    private static WebSocketClient client;
    private EchoBackend backend;
    private LoadBalancer lb;
    private final java.util.concurrent.BlockingQueue<Exchange> exchanges = new java.util.concurrent.LinkedBlockingQueue<>();
    private final java.util.concurrent.BlockingQueue<Exchange> sessionEnds = new java.util.concurrent.LinkedBlockingQueue<>();
    /** Handshakes and refusals into {@link #exchanges}, ended sessions into {@link #sessionEnds}. */
    private final ExchangeListener recorder = new ExchangeListener() {
        @Override
        public void onComplete(Exchange exchange) {
            exchanges.add(exchange);
        }

        @Override
        public void onSessionEnd(Exchange session) {
            sessionEnds.add(session);
        }
    };

    @BeforeAll
    static void startClient() throws Exception {
        client = new WebSocketClient();
        client.setMaxBinaryMessageSize(64L << 20);
        client.setMaxTextMessageSize(64L << 20);
        client.setIdleTimeout(java.time.Duration.ofMinutes(1));
        client.start();
    }

    @AfterAll
    static void stopClient() throws Exception {
        client.stop();
    }

    @BeforeEach
    void startBackend() throws Exception {
        backend = new EchoBackend();
    }

    @AfterEach
    void stopAll() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        backend.close();
    }

    @Test
    void aTrustedProxysForwardingHeadersAreKeptAndAppendedTo() throws Exception {
        startLb(new ListenerLimits(0, 100, 0, List.of("127.0.0.1")));
        ClientUpgradeRequest request = new ClientUpgradeRequest();
        request.setHeader("X-Forwarded-For", "198.51.100.7");
        request.setHeader("X-Forwarded-Proto", "https");
        TestClient c = connect(viaLb("/ws"), request);
        c.send("headers");
        String headers = c.nextText();
        for (String expected : List.of("X-Forwarded-For=198.51.100.7, 127.0.0.1", "X-Forwarded-Proto=https")) {
            assertTrue(headers.contains(expected), expected + " in " + headers);
        }
        c.session.close();
    }

    private LoadBalancer startLb(String... env) throws Exception {
        return startLb(ListenerLimits.defaults(), env);
    }

    private LoadBalancer startLb(ListenerLimits limits, String... env) throws Exception {
        Map<String, String> vars = new HashMap<>(Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "BACKEND_SERVERS", backend.url(),
                "SHUTDOWN_TIMEOUT", "5s"));
        for (int i = 0; i < env.length; i += 2) {
            vars.put(env[i], env[i + 1]);
        }
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), vars), HostResolver.system(), limits);
        lb.setExchangeListener(recorder);
        lb.start();
        return lb;
    }

    private Backend theBackend() {
        return lb.clusters().getFirst().backends().getFirst();
    }

    private URI viaLb(String pathAndQuery) {
        return URI.create("ws://127.0.0.1:" + lb.proxyPort() + pathAndQuery);
    }

    private TestClient connect(URI uri, ClientUpgradeRequest request) throws Exception {
        TestClient endpoint = new TestClient();
        client.connect(endpoint, uri, request).get(10, TimeUnit.SECONDS);
        return endpoint;
    }

    private TestClient connect(URI uri) throws Exception {
        return connect(uri, new ClientUpgradeRequest());
    }


    private void awaitNoneInFlight() throws InterruptedException {
        TestBalancer.await("the backend's in-flight count is back to 0", Duration.ofSeconds(10), () -> theBackend().inflight() == 0);
        TestBalancer.await("no WebSocket session is registered", Duration.ofSeconds(10), () -> lb.webSockets().openSessions() == 0);
    }

    @Test
    void echoesTextAndLargeBinaryAndPassesTheClientsHeaders() throws Exception {
        startLb();
        ClientUpgradeRequest request = new ClientUpgradeRequest();
        request.setHeader("Cookie", "session=abc");
        request.setHeader("Authorization", "Bearer secret");
        request.setHeader("Origin", "http://music.example");
        request.setHeader("X-Custom", "yes");
        request.setHeader("X-Forwarded-For", "6.6.6.6");
        TestClient c = connect(viaLb("/ws?profile=main"), request);

        assertEquals(1, theBackend().inflight(), "an open session counts as in flight");
        Exchange handshake = exchanges.poll(10, TimeUnit.SECONDS);
        assertEquals(101, handshake.status());
        assertEquals("/ws?profile=main", handshake.uri());
        assertEquals(theBackend().address(), handshake.backend());
        assertEquals("backend=1", c.session.getUpgradeResponse().getHeader("Set-Cookie"));
        c.send("headers");
        String headers = c.nextText();
        assertTrue(headers.matches("(?s).*X-Request-Id=[0-9a-f]{32}.*"), "a request id of its own: " + headers);
        for (String expected : List.of("Host=127.0.0.1:" + lb.proxyPort(), "Cookie=session=abc",
                "Authorization=Bearer secret", "Origin=http://music.example", "X-Custom=yes",
                "X-Forwarded-For=127.0.0.1", "X-Forwarded-Proto=http", "path=/ws", "query=profile=main")) {
            assertTrue(headers.contains(expected), expected + " in " + headers);
        }

        c.send("hello");
        assertEquals("hello", c.nextText());

        byte[] big = new byte[8 << 20];
        new Random(42).nextBytes(big);
        Callback.Completable sent = new Callback.Completable();
        c.session.sendBinary(ByteBuffer.wrap(big), sent);
        sent.get(20, TimeUnit.SECONDS);
        assertArrayEquals(big, c.nextBinary());

        c.session.close();
        assertTrue(backend.closes.poll(10, TimeUnit.SECONDS).startsWith("1000 "), "a normal close reaches the backend");
        awaitNoneInFlight();
        assertEquals(0, theBackend().failures());
    }

    /** As nginx and HAProxy log a session: once, when it ends, with its length and who ended it. */
    @Test
    void aSessionIsReportedWhenItEndsWithItsLengthBytesAndWhoEndedIt() throws Exception {
        startLb("WEBSOCKET_DRAIN_GRACE", "1s");
        TestClient c = connect(viaLb("/ws?profile=main"));
        assertEquals(101, exchanges.poll(10, TimeUnit.SECONDS).status(), "the handshake is reported when it is answered");
        c.send("h\u00e9llo \uD83C\uDFB5");
        assertEquals("h\u00e9llo \uD83C\uDFB5", c.nextText());
        c.session.sendBinary(ByteBuffer.wrap(new byte[1000]), Callback.NOOP);
        assertEquals(1000, c.nextBinary().length);
        assertNull(sessionEnds.poll(300, TimeUnit.MILLISECONDS), "an open session is not reported as ended");
        c.session.close();
        Exchange ended = sessionEnds.poll(10, TimeUnit.SECONDS);
        assertEquals(101, ended.status());
        assertEquals("/ws?profile=main", ended.uri());
        assertEquals(theBackend().address(), ended.backend());
        assertEquals(Exchange.End.COMPLETE, ended.end());
        assertEquals(11 + 1000, ended.responseBytes(), "the payload bytes the client got: 11 of UTF-8 text and 1000 binary");
        assertTrue(ended.durationNanos() >= TimeUnit.MILLISECONDS.toNanos(300), "the whole session: " + ended.durationNanos());
        assertFalse(ended.backendFailure());

        TestClient lost = connect(viaLb("/ws"));
        lost.send("die");
        lost.awaitClose();
        Exchange cut = sessionEnds.poll(10, TimeUnit.SECONDS);
        assertEquals(Exchange.End.BACKEND, cut.end());
        assertTrue(cut.backendFailure());

        TestClient drained = connect(viaLb("/ws"));
        theBackend().setState(BackendState.DRAINING);
        assertTrue(drained.awaitClose().startsWith("1001 "));
        assertEquals(Exchange.End.SHUTDOWN, sessionEnds.poll(10, TimeUnit.SECONDS).end());
        awaitNoneInFlight();
        assertNull(sessionEnds.poll(200, TimeUnit.MILLISECONDS), "each session is reported once");
        assertEquals(2, exchanges.stream().filter(e -> e.status() == 101).count(), "the other two handshakes, once each: " + exchanges);
    }

    /**
     * A client that resets its connection before the 101 reaches it is never opened on the
     * balancer: its session still ends (lease, registry), and is reported once.
     */
    @Test
    void aClientGoneBeforeTheUpgradeIsAnsweredEndsItsSessionAndIsReportedOnce() throws Exception {
        try (RawHandshakeBackend slow = new RawHandshakeBackend("")) {
            slow.answerDelayMillis = 300;
            backend.close();
            startLbOn(slow.url());
            for (int i = 0; i < 3; i++) {
                Socket s = new Socket("127.0.0.1", lb.proxyPort());
                s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                        + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                assertTrue(slow.requests.poll(10, TimeUnit.SECONDS) != null, "the backend got the handshake");
                // Reset while the balancer waits for the backend's 101: the client's 101 cannot be written.
                s.setSoLinger(true, 0);
                s.close();
            }
            awaitNoneInFlight();
            Thread.sleep(300);
            long upgraded = exchanges.stream().filter(e -> e.status() == 101).count();
            assertEquals(3, exchanges.size() + sessionEnds.size() - upgraded, "each handshake once: " + exchanges + " " + sessionEnds);
            assertEquals(upgraded, sessionEnds.size(), "each upgraded one ends once: " + exchanges + " " + sessionEnds);
        }
    }

    /**
     * A handshake whose Sec-WebSocket-Extensions Jetty cannot parse is refused as the other invalid
     * ones are: in the access log and the metrics, with the request id it would have had.
     */
    @Test
    void aHandshakeWithExtensionsJettyCannotParseIsAnsweredAndReportedOnce() throws Exception {
        startLb();
        String raw;
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Extensions: x=\"\r\nX-Request-Id: quote-me\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            java.io.InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    break;
                }
                head.append((char) c);
            }
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: *(\\d+)").matcher(head);
            raw = head + (length.find() ? new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.ISO_8859_1) : "");
        }
        assertTrue(raw.startsWith("HTTP/1.1 400 ") && raw.endsWith("\r\n\r\n400 not a valid WebSocket handshake\n"), raw);
        assertTrue(raw.contains("\r\nConnection: close\r\n"), "a client that got no upgrade starts over: " + raw);
        assertTrue(raw.contains("\r\nX-Request-Id: quote-me\r\n"), raw);
        Exchange refused = exchanges.poll(10, TimeUnit.SECONDS);
        assertEquals(400, refused == null ? 0 : refused.status(), "reported: " + refused);
        assertEquals("quote-me", refused.requestId());
        assertTrue(backend.sessions.isEmpty(), "no session was opened on the backend");
        awaitNoneInFlight();
        assertNull(exchanges.poll(200, TimeUnit.MILLISECONDS), "once");
        assertTrue(sessionEnds.isEmpty(), sessionEnds.toString());
    }

    @Test
    void negotiatesTheSubprotocolWithTheBackend() throws Exception {
        startLb();
        ClientUpgradeRequest offers = new ClientUpgradeRequest();
        offers.setSubProtocols("chat", "moosicbox.v2");
        TestClient c = connect(viaLb("/ws"), offers);
        assertEquals("moosicbox.v2", c.session.getUpgradeResponse().getAcceptedSubProtocol());
        c.session.close();

        ClientUpgradeRequest unknown = new ClientUpgradeRequest();
        unknown.setSubProtocols("chat");
        TestClient d = connect(viaLb("/ws"), unknown);
        assertNull(d.session.getUpgradeResponse().getAcceptedSubProtocol());
        d.send("still works");
        assertEquals("still works", d.nextText());
        d.session.close();
        awaitNoneInFlight();
    }

    @Test
    void pingReachesTheBackendAndItsPongComesBack() throws Exception {
        startLb();
        TestClient c = connect(viaLb("/ws"));
        c.session.sendPing(ByteBuffer.wrap("hi".getBytes(StandardCharsets.UTF_8)), Callback.NOOP);
        assertEquals("backend:hi", c.pongs.poll(10, TimeUnit.SECONDS));
        c.session.close();
        awaitNoneInFlight();
    }

    @Test
    void closeCodesAndReasonsPassBothWays() throws Exception {
        startLb();
        TestClient c = connect(viaLb("/ws"));
        c.session.close(4001, "client bye", Callback.NOOP);
        assertEquals("4001 client bye", backend.closes.poll(10, TimeUnit.SECONDS));
        assertEquals("4001 client bye", c.awaitClose());

        TestClient d = connect(viaLb("/ws"));
        d.send("close 4002 server bye");
        assertEquals("4002 server bye", d.awaitClose());
        awaitNoneInFlight();
        assertEquals(0, theBackend().failures());
    }

    @Test
    void backendKilledMidSessionClosesTheClientWith1014() throws Exception {
        startLb();
        TestClient c = connect(viaLb("/ws"));
        c.send("die");
        assertTrue(c.awaitClose().startsWith("1014 "), "close code for a lost backend");
        awaitNoneInFlight();
        assertEquals(1, theBackend().failures(), "a lost backend connection counts as a failure");
    }

    /**
     * Frames no WebSocket server may send (RFC 6455 5.2, 5.5, 8.1): the backend's failure, recorded as a
     * lost connection is, and the client gets 1014 (an invalid answer from upstream), not the 1002
     * that would say the client broke the protocol.
     */
    @Test
    void aBackendThatBreaksTheProtocolClosesTheClientWith1014AndCountsAsItsFailure() throws Exception {
        byte[] rsv1WithoutExtension = {(byte) 0xC1, 2, 'h', 'i'};
        byte[] oversizedPing = new byte[2 + 2 + 126];
        oversizedPing[0] = (byte) 0x89;
        oversizedPing[1] = 126;
        oversizedPing[3] = 126;
        byte[] textNotUtf8 = {(byte) 0x81, 2, (byte) 0xC3, 0x28};
        for (byte[] frame : List.of(rsv1WithoutExtension, oversizedPing, textNotUtf8)) {
            try (RawHandshakeBackend raw = new RawHandshakeBackend("Connection: Upgrade\r\n", frame)) {
                startLbOn(raw.url());
                TestClient c = connect(viaLb("/ws"));
                String closed = c.awaitClose();
                assertTrue(closed.startsWith("1014 "), closed);
                TestBalancer.await("the session ended", Duration.ofSeconds(10), () -> theBackend().inflight() == 0);
                assertEquals(1, theBackend().failures(), "a protocol error counts as the backend's failure");
                assertTrue(theBackend().lastError().startsWith("WebSocket: "), theBackend().lastError());
                lb.stop();
                lb = null;
            }
        }

        // The backend's own close frame with 1002 is its word, passed on as it is.
        startLb();
        TestClient c = connect(viaLb("/ws"));
        c.send("close 1002 the client broke it");
        assertEquals("1002 the client broke it", c.awaitClose());
        awaitNoneInFlight();
        assertEquals(0, theBackend().failures());
    }

    /**
     * Frames no WebSocket client may send (RFC 6455 5.2, 5.5, 8.1): the client gets Jetty's 1002 or
     * 1007, the backend only learns that the client went away, and nothing counts against it.
     */
    @Test
    void aClientThatBreaksTheProtocolClosesTheBackendWith1001() throws Exception {
        startLb();
        byte[] rsv1WithoutExtension = "hi".getBytes(StandardCharsets.US_ASCII);
        byte[] oversizedPing = new byte[126];
        byte[] textNotUtf8 = {(byte) 0xC3, 0x28};
        Map<Integer, byte[]> frames = new java.util.LinkedHashMap<>();
        frames.put(0xC1, rsv1WithoutExtension);
        frames.put(0x89, oversizedPing);
        frames.put(0x81, textNotUtf8);
        frames.forEach((firstByte, payload) -> {
            try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                s.setSoTimeout(10_000);
                var out = s.getOutputStream();
                var in = s.getInputStream();
                out.write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n")) {
                    int b = in.read();
                    assertTrue(b >= 0, "the connection closed in the answer's head: " + head);
                    head.append((char) b);
                }
                assertTrue(head.toString().startsWith("HTTP/1.1 101 "), head.toString());
                assertTrue(backend.sessions.poll(10, TimeUnit.SECONDS) != null, "the backend's session opened");
                byte[] mask = {1, 2, 3, 4};
                out.write(firstByte);
                if (payload.length > 125) {
                    out.write(0x80 | 126);
                    out.write(payload.length >> 8);
                    out.write(payload.length & 0xFF);
                } else {
                    out.write(0x80 | payload.length);
                }
                out.write(mask);
                for (int i = 0; i < payload.length; i++) {
                    out.write(payload[i] ^ mask[i % 4]);
                }
                out.flush();
                assertEquals(0x88, in.read(), "the client gets a close frame");
                int length = in.read() & 0x7F;
                int code = length >= 2 ? (in.read() << 8) | in.read() : 0;
                assertTrue(code == 1002 || code == 1007, "the client broke the protocol: " + code);
                assertEquals("1001 the client broke the WebSocket protocol", backend.closes.poll(10, TimeUnit.SECONDS),
                        "after a frame starting with " + Integer.toHexString(firstByte));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        awaitNoneInFlight();
        assertEquals(0, theBackend().failures());
        assertNull(theBackend().lastError());
    }

    /**
     * Many servers answer a close frame by dropping the connection. After the client left, that is
     * the end of the session, not a lost backend: counted, every client leaving a healthy backend
     * would push it towards ejection (found by an audit: 6 closes, 6 failures).
     */
    @Test
    void aBackendThatDropsTheConnectionOnTheBalancersCloseIsNotCountedAsLost() throws Exception {
        try (RawHandshakeBackend raw = new RawHandshakeBackend("Connection: Upgrade\r\n", new byte[0], true)) {
            assertClientClosesCountNothingAgainst(raw, 3);
        }
    }

    /**
     * A backend that does not answer the balancer's close frame is cut after {@code CLOSE_TIMEOUT}:
     * Jetty reports that as a lost connection, but the backend lost nothing.
     */
    @Test
    void aBackendCutForNotAnsweringACloseIsNotCountedAsLost() throws Exception {
        try (RawHandshakeBackend silent = new RawHandshakeBackend("Connection: Upgrade\r\n")) {
            assertClientClosesCountNothingAgainst(silent, 1);
        }
    }

    /** Opens {@code sessions} sessions to {@code backend} through the balancer, closes each from the client, and expects no failure. */
    private void assertClientClosesCountNothingAgainst(RawHandshakeBackend backend, int sessions) throws Exception {
        startLbOn(backend.url());
        for (int i = 0; i < sessions; i++) {
            TestClient c = connect(viaLb("/ws"));
            c.session.close(1000, "bye", Callback.NOOP);
            assertEquals("1000 bye", c.awaitClose());
        }
        TestBalancer.await("the sessions ended", Duration.ofSeconds(10), () -> theBackend().inflight() == 0);
        assertEquals(0, theBackend().failures());
        assertNull(theBackend().lastError());
    }

    @Test
    void refusalsAreHttpStatusesBeforeTheUpgrade() throws Exception {
        startLb();
        assertEquals(401, upgradeStatus(viaLb("/denied")), "the backend's own refusal is passed on");
        awaitNoneInFlight();
        assertEquals(401, exchanges.poll(10, TimeUnit.SECONDS).status());

        theBackend().setState(BackendState.DOWN);
        assertEquals(503, upgradeStatus(viaLb("/ws")));
        String raw = rawUpgrade("/ws").toLowerCase(Locale.ROOT);
        assertTrue(raw.startsWith("http/1.1 503 "), raw);
        assertTrue(raw.contains("\r\nretry-after: 1\r\n"), raw);
        assertTrue(raw.contains("\r\nconnection: close\r\n"), "the client starts over on a new connection:\n" + raw);
        assertTrue(raw.matches("(?s).*\r\nx-request-id: [0-9a-f]{32}\r\n.*"), raw);
        lb.stop();

        int closedPort = TestBackend.refusingPort();
        lb = null;
        backend.close();
        startLbOn("http://127.0.0.1:" + closedPort);
        String unreachable = rawUpgrade("/ws").toLowerCase(Locale.ROOT);
        assertTrue(unreachable.startsWith("http/1.1 502 "), unreachable);
        assertTrue(unreachable.matches("(?s).*\r\nx-request-id: [0-9a-f]{32}\r\n.*"), "an id the user can quote:\n" + unreachable);
        awaitNoneInFlight();
        assertEquals(1, theBackend().failures());
    }

    @Test
    void aTargetInUtf8ReachesTheBackendPercentEncoded() throws Exception {
        startLb();
        String seen = askBackendThroughRawSession("/ws?name=caf\u00e9");
        assertTrue(seen.contains("query=name=caf%C3%A9"), seen);
    }

    @Test
    void aTargetJettyCannotUpgradeIsRefusedBeforeTheBackendIsAsked() throws Exception {
        startLb();
        // Jetty's server side of the upgrade needs a java.net.URI of the request, which refuses | { } ^.
        String raw = rawUpgrade("/ws?q=a|b");
        assertTrue(raw.startsWith("HTTP/1.1 400 "), raw);
        assertTrue(backend.sessions.isEmpty(), "no session was opened on the backend");
    }

    /**
     * Upgrades a raw connection to {@code target} (sent as UTF-8) and sends one masked text
     * frame, "headers": the backend's answer says what it saw.
     */
    private String askBackendThroughRawSession(String target) throws Exception {
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            var out = s.getOutputStream();
            var in = s.getInputStream();
            out.write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                head.append((char) in.read());
            }
            assertTrue(head.toString().startsWith("HTTP/1.1 101 "), head.toString());
            byte[] text = "headers".getBytes(StandardCharsets.US_ASCII);
            byte[] mask = {1, 2, 3, 4};
            out.write(0x81);
            out.write(0x80 | text.length);
            out.write(mask);
            for (int i = 0; i < text.length; i++) {
                out.write(text[i] ^ mask[i % 4]);
            }
            assertEquals(0x81, in.read(), "a text frame comes back");
            int length = in.read() & 0x7F;
            if (length == 126) {
                length = (in.read() << 8) | in.read();
            }
            return new String(in.readNBytes(length), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aHandshakeWhoseBackendCannotBeReachedGoesToAnother() throws Exception {
        // Round robin over a backend that refuses connections (crashed, restarting) and a live one.
        startLbOn("http://127.0.0.1:" + TestBackend.refusingPort() + "," + backend.url());
        for (int i = 0; i < 4; i++) {
            TestClient c = connect(viaLb("/ws"));
            c.send("hello " + i);
            assertEquals("hello " + i, c.nextText());
            c.session.close();
        }
        awaitNoneInFlight();
        Backend refusing = lb.clusters().getFirst().backends().getFirst();
        assertTrue(refusing.failures() >= 1, "the refusing backend's failures are counted: " + refusing.failures());
        assertTrue(refusing.retries() >= 1, "and the handshakes it refused went on: " + refusing.retries());
        // The access log says so too, as for plain requests, with the backend's part of the time.
        TestBalancer.await("four handshakes reported", Duration.ofSeconds(5), () -> exchanges.size() == 4);
        assertEquals(refusing.retries(), exchanges.stream().mapToInt(Exchange::retries).sum(), exchanges.toString());
        assertTrue(exchanges.stream().allMatch(e -> e.upstreamNanos() > 0), exchanges.toString());
    }

    /** A backend's redirect of a handshake is never followed to a host outside the backend list. */
    @Test
    void aRedirectOfTheHandshakeIsNotFollowed() throws Exception {
        try (java.net.ServerSocket elsewhere = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             java.net.ServerSocket redirecting = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            java.util.concurrent.atomic.AtomicInteger reachedElsewhere = new java.util.concurrent.atomic.AtomicInteger();
            Thread.ofVirtual().start(() -> {
                while (!elsewhere.isClosed()) {
                    try (Socket s = elsewhere.accept()) {
                        reachedElsewhere.incrementAndGet();
                    } catch (java.io.IOException closed) {
                        return;
                    }
                }
            });
            Thread.ofVirtual().start(() -> {
                while (!redirecting.isClosed()) {
                    try (Socket s = redirecting.accept()) {
                        s.getOutputStream().write(("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:" + elsewhere.getLocalPort()
                                + "/ws\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                    } catch (java.io.IOException closed) {
                        return;
                    }
                }
            });
            startLbOn("http://127.0.0.1:" + redirecting.getLocalPort());
            String raw = rawUpgrade("/ws");
            assertFalse(raw.startsWith("HTTP/1.1 101 "), raw);
            // A followed redirect connects before the answer comes; the accepting thread counts it a moment later.
            Thread.sleep(300);
            assertEquals(0, reachedElsewhere.get(), "the balancer connected to the Location: " + raw);
        }
    }

    /** Handshakes Jetty's container would refuse get the balancer's own 400, before a backend is asked. */
    @Test
    void anInvalidClientHandshakeIsRefusedBeforeTheBackendIsAsked() throws Exception {
        startLb();
        for (String headers : List.of("Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                "Sec-WebSocket-Version: 13\r\n")) {
            try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + headers + "\r\n").getBytes(StandardCharsets.US_ASCII));
                String raw = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertTrue(raw.startsWith("HTTP/1.1 400 ") && raw.endsWith("\r\n\r\n400 not a valid WebSocket handshake\n"), raw);
            }
        }
        assertTrue(backend.sessions.isEmpty(), "no session was opened on the backend");
        awaitNoneInFlight();
    }

    /**
     * Headers of one connection (RFC 9110 7.6.1) stay on it, both ways: the fixed list and every
     * name a Connection line gives, on any of its lines; the end-to-end ones pass.
     */
    @Test
    void hopByHopHeadersOfTheHandshakeStayOnTheirHop() throws Exception {
        try (RawHandshakeBackend raw = new RawHandshakeBackend("Connection: Upgrade, X-Backend-Hop\r\n"
                + "Connection: X-Backend-Hop2\r\nX-Backend-Hop: 1\r\nX-Backend-Hop2: 1\r\nKeep-Alive: timeout=5\r\n"
                + "Proxy-Connection: keep-alive\r\nProxy-Authenticate: Basic\r\nTrailer: X-Sum\r\nTE: trailers\r\n"
                + "Set-Cookie: backend=1\r\n")) {
            startLbOn(raw.url());
            String answer;
            try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, X-Client-Hop\r\n"
                        + "Connection: X-Client-Hop2\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Client-Hop: 1\r\nX-Client-Hop2: 1\r\n"
                        + "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\n"
                        + "TE: trailers\r\nTrailer: X-Sum\r\nX-End-To-End: 1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n")) {
                    int b = s.getInputStream().read();
                    assertTrue(b >= 0, "the connection closed in the answer's head: " + head);
                    head.append((char) b);
                }
                answer = head.toString().toLowerCase(Locale.ROOT);
            }
            assertTrue(answer.startsWith("http/1.1 101 "), answer);
            assertTrue(answer.contains("\r\nset-cookie: backend=1\r\n"), "end-to-end headers pass:\n" + answer);
            for (String hop : List.of("x-backend-hop", "x-backend-hop2", "keep-alive", "proxy-connection", "proxy-authenticate",
                    "trailer", "te")) {
                assertFalse(answer.contains("\r\n" + hop + ":"), hop + " reached the client:\n" + answer);
            }
            assertFalse(answer.contains("x-backend-hop"), "the backend's Connection names reached the client:\n" + answer);

            String request = raw.requests.poll(10, TimeUnit.SECONDS).toLowerCase(Locale.ROOT);
            assertTrue(request.contains("\r\nx-end-to-end: 1\r\n"), "end-to-end headers pass:\n" + request);
            for (String hop : List.of("x-client-hop", "x-client-hop2", "keep-alive", "proxy-connection", "proxy-authorization",
                    "trailer", "te")) {
                assertFalse(request.contains("\r\n" + hop + ":"), hop + " reached the backend:\n" + request);
            }
            assertFalse(request.contains("x-client-hop"), "the client's Connection names reached the backend:\n" + request);
        }
    }

    /**
     * Upgrade lists protocols (RFC 9110 7.8): one naming websocket among others is a handshake; one
     * naming only others (websocket2), or sent in HTTP/1.0, is not acted on and the request is a
     * plain one. Jetty's handshake logged a WARN for each of the first two, which anyone could repeat.
     */
    @Test
    void upgradeIsReadAsAListOfProtocols() throws Exception {
        startLb();
        List<String> warnings = jettyWarningsDuring(() -> {
            assertTrue(rawAnswer("HTTP/1.1", "Connection: Upgrade\r\nUpgrade: foo/2, WebSocket\r\n").startsWith("HTTP/1.1 101 "));
            assertTrue(rawAnswer("HTTP/1.1", "Connection: keep-alive, Upgrade\r\nUpgrade: foo\r\nUpgrade: websocket\r\n")
                    .startsWith("HTTP/1.1 101 "));
            // The backend opens its session once its 101 is out, maybe after the client got one.
            TestBalancer.await("both reached the backend as WebSockets", Duration.ofSeconds(10), () -> backend.sessions.size() == 2);
            for (String plain : List.of(rawAnswer("HTTP/1.1", "Connection: Upgrade\r\nUpgrade: websocket2\r\n"),
                    rawAnswer("HTTP/1.0", "Connection: Upgrade\r\nUpgrade: websocket\r\n"))) {
                // The backend's own answer to a GET that asks for no upgrade, not the balancer's.
                assertFalse(plain.startsWith("HTTP/1.1 101 ") || plain.contains("not a valid WebSocket handshake"), plain);
            }
            TestBalancer.await("both were answered by the backend", Duration.ofSeconds(10),
                    () -> exchanges.stream().filter(e -> e.backend() != null && e.status() != 101).count() == 2);
        });
        assertEquals(List.of(), warnings);
        assertEquals(2, backend.sessions.size(), "the others opened no session on the backend");
    }

    /**
     * permessage-deflate offers the balancer's compressor cannot honour are declined (RFC 7692 5,
     * 7.1.2.1): it always uses 15-bit windows, and Jetty accepted an offer of server_max_window_bits
     * with an answer that left the parameter out, which the client cannot take as an acceptance.
     * The next acceptable offer is taken; with none, the session is not compressed.
     */
    @Test
    void permessageDeflateOffersThatCannotBeHonouredAreDeclined() throws Exception {
        startLb();
        for (String declined : List.of("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=15",
                "permessage-deflate; client_max_window_bits=16", "permessage-deflate; x_unknown")) {
            String answer = rawAnswer("HTTP/1.1", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions: "
                    + declined + "\r\n").toLowerCase(Locale.ROOT);
            assertTrue(answer.startsWith("http/1.1 101 "), declined + ": " + answer);
            assertFalse(answer.contains("sec-websocket-extensions"), declined + ": " + answer);
        }
        String answer = rawAnswer("HTTP/1.1", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions: "
                + "permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits\r\n");
        assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nsec-websocket-extensions: permessage-deflate\r\n"), answer);

        // Offers that can be honoured still are, and the session works compressed.
        ClientUpgradeRequest offer = new ClientUpgradeRequest();
        offer.addExtensions("permessage-deflate; client_max_window_bits");
        TestClient c = connect(viaLb("/ws"), offer);
        assertEquals("permessage-deflate", c.session.getUpgradeResponse().getExtensions().getFirst().getName());
        c.send("compressed");
        assertEquals("compressed", c.nextText());
        c.session.close();
    }

    /** The answer to a handshake with these Connection and Upgrade lines: its head, and the body its length announces. */
    private String rawAnswer(String version, String connectionAndUpgrade) throws Exception {
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /ws " + version + "\r\nHost: 127.0.0.1\r\n" + connectionAndUpgrade
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            StringBuilder answer = new StringBuilder();
            while (!answer.toString().endsWith("\r\n\r\n")) {
                int b = s.getInputStream().read();
                assertTrue(b >= 0, "the connection closed in the answer's head: " + answer);
                answer.append((char) b);
            }
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: *(\\d+)").matcher(answer);
            if (length.find()) {
                answer.append(new String(s.getInputStream().readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.ISO_8859_1));
            }
            return answer.toString();
        }
    }

    /** What Jetty's own classes logged at WARN or above while the check ran. */
    private static List<String> jettyWarningsDuring(ThrowingRunnable check) throws Exception {
        org.eclipse.jetty.logging.JettyLogger logger = (org.eclipse.jetty.logging.JettyLogger) org.slf4j.LoggerFactory.getLogger("org.eclipse.jetty");
        org.eclipse.jetty.logging.StdErrAppender appender = (org.eclipse.jetty.logging.StdErrAppender) logger.getAppender();
        java.io.PrintStream before = appender.getStream();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        appender.setStream(new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            check.run();
        } finally {
            appender.setStream(before);
        }
        return out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains(":WARN :oej") || l.contains(":ERROR:oej")).toList();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    private void startLbOn(String backendUrl) throws Exception {
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), Map.of("BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0", "BACKEND_SERVERS", backendUrl, "SHUTDOWN_TIMEOUT", "5s")));
        lb.setExchangeListener(recorder);
        lb.start();
    }

    /** The whole answer to an upgrade request: read until the balancer closes the connection (or 10 s pass). */
    private String rawUpgrade(String path) throws Exception {
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                    + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    /** With a client of its own, whose idle connection does not outlive the check. */
    private int upgradeStatus(URI uri) throws Exception {
        WebSocketClient once = new WebSocketClient();
        once.start();
        try {
            CompletableFuture<Session> f = once.connect(new TestClient(), uri);
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            if (!(e.getCause() instanceof UpgradeException u)) {
                throw new AssertionError("expected an HTTP refusal", e);
            }
            return u.getResponseStatusCode();
        } finally {
            once.stop();
        }
    }

    @Test
    void drainClosesSessionsWithGoingAwayAfterTheGraceTime() throws Exception {
        startLb("WEBSOCKET_DRAIN_GRACE", "1s");
        TestClient c = connect(viaLb("/ws"));
        long drainStarted = System.nanoTime();
        theBackend().setState(BackendState.DRAINING);
        c.send("during the grace time");
        assertEquals("during the grace time", c.nextText());

        String closed = c.awaitClose();
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drainStarted);
        assertTrue(closed.startsWith("1001 "), closed);
        assertTrue(waited >= 1000, "closed after " + waited + " ms, before the grace time");
        assertTrue(backend.closes.poll(10, TimeUnit.SECONDS).startsWith("1001 "), "the backend is told too");
        awaitNoneInFlight();
        TestBalancer.await("the drained backend becomes DRAINED", Duration.ofSeconds(10), () -> theBackend().state() == BackendState.DRAINED);
    }

    @Test
    void shutdownClosesSessionsWithGoingAwayWithinTheTimeout() throws Exception {
        startLb("WEBSOCKET_DRAIN_GRACE", "1s", "SHUTDOWN_TIMEOUT", "4s");
        TestClient c = connect(viaLb("/ws"));
        long started = System.nanoTime();
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
            try {
                lb.stop();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        String closed = c.awaitClose();
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(closed.startsWith("1001 "), closed);
        assertTrue(waited >= 900, "closed after " + waited + " ms, before the grace time");
        stopped.get(10, TimeUnit.SECONDS);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) < 4500, "stop kept within the shutdown timeout");
        assertEquals(0, theBackend().inflight());
        Exchange ended = sessionEnds.poll();
        assertEquals(Exchange.End.SHUTDOWN, ended == null ? null : ended.end(), "reported before the stop returned, while the access log still writes");
        lb = null;
    }

    @Test
    void sessionsOutliveTheHttpIdleTimeoutButNotTheirOwn() throws Exception {
        startLb("IDLE_TIMEOUT", "300ms", "WEBSOCKET_IDLE_TIMEOUT", "2s");
        TestClient c = connect(viaLb("/ws"));
        Thread.sleep(900); // quiet for three HTTP idle timeouts
        c.send("still here");
        assertEquals("still here", c.nextText());
        long quietSince = System.nanoTime();
        String closed = c.awaitClose();
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - quietSince);
        assertTrue(waited >= 1500, "closed after " + waited + " ms of silence");
        assertTrue(closed.startsWith("1001 "), closed);
        awaitNoneInFlight();
    }

    @Test
    void aClientThatDoesNotReadHoldsTheBackendBack() throws Exception {
        startLb();
        SlowClient slow = new SlowClient();
        client.connect(slow, viaLb("/ws")).get(10, TimeUnit.SECONDS);
        slow.session.sendText("flood 128", Callback.NOOP);
        TestBalancer.await("the backend has started sending", Duration.ofSeconds(10), () -> backend.floodSent.get() > 0);
        // Wait until the sender stalls: nothing more gets through while the client reads nothing.
        long last = -1;
        for (int i = 0; i < 50 && backend.floodSent.get() != last; i++) {
            last = backend.floodSent.get();
            Thread.sleep(200);
        }
        long stalledAt = backend.floodSent.get();
        assertTrue(stalledAt < (64L << 20), "the backend sent " + (stalledAt >> 20) + " MiB to a client reading nothing");

        slow.read();
        TestBalancer.await("all 128 MiB arrived", Duration.ofSeconds(10), () -> slow.received.get() == (128L << 20));
        assertEquals(128L << 20, backend.floodSent.get());
        slow.session.close();
        awaitNoneInFlight();
    }

    /** Reads only when told to. */
    public static final class SlowClient implements Session.Listener {
        final AtomicLong received = new AtomicLong();
        volatile Session session;
        private volatile boolean reading;

        @Override
        public void onWebSocketOpen(Session s) {
            session = s;
        }

        @Override
        public void onWebSocketPartialBinary(ByteBuffer payload, boolean fin, Callback callback) {
            received.addAndGet(payload.remaining());
            callback.succeed();
            session.demand();
        }

        void read() {
            if (!reading) {
                reading = true;
                session.demand();
            }
        }
    }

    /**
     * Not a check but a measurement for the README: round trips of small messages through the
     * balancer against the same backend directly. Printed to the test's output.
     */
    @Test
    void measuresRoundTripLatencyThroughTheBalancerAgainstDirect() throws Exception {
        startLb();
        long[] direct = roundTrips(URI.create("ws://127.0.0.1:" + backend.port() + "/ws"), 2000);
        long[] balanced = roundTrips(viaLb("/ws"), 2000);
        String report = String.format("WebSocket round trip, 2000 x 32-byte text, after 500 warm-up:%n"
                        + "  direct:       median %d us, p99 %d us%n  via balancer: median %d us, p99 %d us%n",
                direct[direct.length / 2] / 1000, direct[direct.length * 99 / 100] / 1000,
                balanced[balanced.length / 2] / 1000, balanced[balanced.length * 99 / 100] / 1000);
        System.out.print(report);
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "websocket-latency.txt"), report);
        awaitNoneInFlight();
    }

    private long[] roundTrips(URI uri, int count) throws Exception {
        TestClient c = connect(uri);
        String message = "x".repeat(32);
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < 500 + count; i++) {
            long t = System.nanoTime();
            c.send(message);
            assertEquals(message, c.nextText());
            if (i >= 500) {
                times.add(System.nanoTime() - t);
            }
        }
        c.session.close();
        c.awaitClose();
        return times.stream().mapToLong(Long::longValue).sorted().toArray();
    }
}
