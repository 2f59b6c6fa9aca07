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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Raw bytes on a socket to a real balancer in front of a real backend that records every
 * request it receives: hostile input gets the right status and reaches no backend.
 */
class HostileInputTest {
    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    private Server backend;
    private LoadBalancer lb;
    private final List<String> seen = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        startWith(new ListenerLimits(1024, 4, 0), Duration.ofSeconds(60));
    }

    private void startWith(ListenerLimits limits, Duration idle) throws Exception {
        stop();
        backend = new Server();
        ServerConnector bc = new ServerConnector(backend);
        bc.setHost("127.0.0.1");
        backend.addConnector(bc);
        backend.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response, Callback callback) {
                seen.add(request.getMethod() + " " + request.getHttpURI().getPath());
                Content.Source.consumeAll(request, Callback.from(() -> Content.Sink.write(response, true, "ok", callback), callback::failed));
                return true;
            }
        });
        backend.start();
        ClusterConfig all = new ClusterConfig("all", List.of("*"), List.of("/"), "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse("http://127.0.0.1:" + bc.getLocalPort())), PoolSettings.defaults());
        LbConfig d = EnvConfig.defaults();
        LbConfig config = new LbConfig(new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                d.tls(), List.of(all), new LbConfig.Timeouts(Duration.ofSeconds(5), idle, Duration.ofSeconds(60)),
                d.shutdown(), d.admin(), "info");
        lb = new LoadBalancer(config, HostResolver.system(), limits);
        lb.start();
        seen.clear();
    }

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.server().stop();
        }
        if (backend != null) {
            backend.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 39\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 39\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 39\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +39\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x27\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 39\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "POST / HTTP/1.1\nHost: x\nContent-Length: 36\n\n" + SMUGGLED,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 36\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n" + SMUGGLED,
    })
    void smugglingIsRefusedAndNothingReachesTheBackend(String attack) throws Exception {
        String answer = exchange(attack.getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
        assertTrue(answer.contains("\r\n\r\n400 ") && !answer.contains("<html"), "the balancer's short plain text: " + answer);
        assertEquals(1, count(answer, "HTTP/1.1 "), "one answer, then the connection closes: " + answer);
        assertEquals(List.of(), seen);
    }

    /**
     * RFC 9112 6.1: an HTTP/1.0 message with a Transfer-Encoding has faulty framing (a proxy in front
     * may read it by its length), so it is refused and its connection closed, as nginx does.
     */
    @Test
    void anHttp10RequestWithATransferEncodingIsRefusedAndItsConnectionClosed() throws Exception {
        String answer = exchange(("POST / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n" + SMUGGLED).getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(answer.matches("(?s)HTTP/1\\.[01] 400 .*400 Transfer-Encoding in an HTTP/1\\.0 request\n"), answer);
        assertEquals(1, count(answer, " 400 Bad Request"), "one answer, then the connection closes: " + answer);
        assertEquals(List.of(), seen);
    }

    /**
     * A body is streamed, so a framing error inside it is found after the headers went to the
     * backend: the client gets 400 or 502 and its connection closes, the backend's request is
     * aborted, and nothing after the bad framing is ever read as a request.
     */
    @Test
    void badChunkFramingEndsTheConnection() throws Exception {
        String answer = exchange(("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n" + SMUGGLED)
                .getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(answer.startsWith("HTTP/1.1 400 ") || answer.startsWith("HTTP/1.1 502 "), answer);
        assertEquals(1, count(answer, "HTTP/1.1 "), answer);
        assertFalse(seen.contains("GET /smuggled"), seen.toString());
    }

    @Test
    void aWellFormedRequestStillPasses() throws Exception {
        String answer = exchange("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi".getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
        assertEquals(List.of("POST /up"), seen);
    }

    @Test
    void headerBlockOver64KiBIs431() throws Exception {
        String answer = exchange(("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(65 * 1024) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(answer.startsWith("HTTP/1.1 431 "), answer);
        assertEquals(List.of(), seen);
    }

    @Test
    void tooManyHeadersIs431() throws Exception {
        StringBuilder request = new StringBuilder("GET / HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < ListenerHardening.MAX_HEADER_COUNT + 1; i++) {
            request.append("X-H").append(i).append(": v\r\n");
        }
        String answer = exchange(request.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(answer.startsWith("HTTP/1.1 431 "), answer);
        assertEquals(List.of(), seen);
    }

    @Test
    void uriOver8KiBIs414() throws Exception {
        String answer = exchange(("GET /" + "a".repeat(8 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(answer.startsWith("HTTP/1.1 414 "), answer);
        assertTrue(answer.contains("\r\nContent-Type: text/plain;charset=utf-8\r\n"), answer);
        assertTrue(answer.endsWith("\r\n\r\n414 URI Too Long\n"), answer);
        assertEquals(List.of(), seen);
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        String declared = exchange(("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + "a".repeat(2000)).getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(declared.startsWith("HTTP/1.1 413 "), declared);
        assertEquals(List.of(), seen);
        // A chunked body announces no length: the proxy cuts it once it passes the limit.
        String chunked = exchange(("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + ("100\r\n" + "a".repeat(256) + "\r\n").repeat(8) + "0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        assertFalse(chunked.startsWith("HTTP/1.1 200 "), chunked);
    }

    @Test
    void connectionsOverTheCapWaitUntilOneCloses() throws Exception {
        List<Socket> held = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                Socket s = new Socket("127.0.0.1", lb.proxyPort());
                held.add(s);
                assertTrue(roundTrip(s).startsWith("HTTP/1.1 200 "));
            }
            try (Socket fifth = new Socket("127.0.0.1", lb.proxyPort())) {
                fifth.setSoTimeout(700);
                fifth.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                assertThrowsTimeout(fifth.getInputStream());
                held.remove(0).close();
                fifth.setSoTimeout(5000);
                assertTrue(readAnswer(fifth.getInputStream()).startsWith("HTTP/1.1 200 "));
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void rateLimitPerAddressIs429() throws Exception {
        startWith(new ListenerLimits(0, 100, 5), Duration.ofSeconds(60));
        int limited = 0;
        int passed = 0;
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            for (int i = 0; i < 30 && limited == 0; i++) {
                String answer = roundTrip(s);
                if (answer.startsWith("HTTP/1.1 429 ")) {
                    limited++;
                } else {
                    assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
                    passed++;
                }
            }
        }
        assertEquals(1, limited, "30 requests at once exceed 5 a second");
        assertTrue(passed >= 1, "the first requests pass");
        assertEquals(passed, seen.size(), "the limited request reaches no backend");
    }

    /** A player loading a page of cover art sends a burst: RATE_LIMIT_BURST lets that many through at once. */
    @Test
    void aBurstPassesAtOnceThenTheRateApplies() throws Exception {
        startWith(new ListenerLimits(0, 100, 2, List.of(), 10), Duration.ofSeconds(60));
        int passed = 0;
        boolean limited = false;
        long start = System.nanoTime();
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            for (int i = 0; i < 40 && !limited; i++) {
                String answer = roundTrip(s);
                limited = answer.startsWith("HTTP/1.1 429 ");
                if (!limited) {
                    assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
                    passed++;
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(limited, "40 requests at once exceed a burst of 10 at 2 a second");
        // The burst, plus what 2 a second let through while the requests ran.
        assertTrue(passed >= 10 && passed <= 10 + (int) Math.ceil(seconds * 2), passed + " passed in " + seconds + " s");
    }

    @Test
    void slowlorisIsCutByTheIdleTimeout() throws Exception {
        startWith(ListenerLimits.defaults(), Duration.ofMillis(500));
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.ISO_8859_1));
            long start = System.nanoTime();
            int read;
            try {
                read = s.getInputStream().read();
            } catch (IOException closed) {
                read = -1;
            }
            long waited = (System.nanoTime() - start) / 1_000_000;
            assertTrue(waited < 4000, "closed after " + waited + " ms");
            assertEquals(-1, read, "a half-sent request gets no answer: its connection is closed (README: connection closed)");
        }
        assertEquals(List.of(), seen);
    }

    private static void assertThrowsTimeout(InputStream in) throws IOException {
        try {
            int b = in.read();
            throw new AssertionError("a connection over the cap was served: " + (char) b);
        } catch (SocketTimeoutException expected) {
            // still queued behind the cap
        }
    }

    private String roundTrip(Socket s) throws IOException {
        s.setSoTimeout(5000);
        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        return readAnswer(s.getInputStream());
    }

    /** Reads one response with a Content-Length body. */
    private static String readAnswer(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        String h = head.toString(StandardCharsets.ISO_8859_1);
        int at = h.toLowerCase().indexOf("content-length: ");
        if (at >= 0) {
            int len = Integer.parseInt(h.substring(at + 16, h.indexOf('\r', at)).trim());
            return h + new String(in.readNBytes(len), StandardCharsets.ISO_8859_1);
        }
        return h;
    }

    /** Sends the bytes and reads until the balancer closes the connection (bounded by a timeout). */
    private String exchange(byte[] bytes) throws IOException {
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(5000);
            try {
                s.getOutputStream().write(bytes);
                s.shutdownOutput();
            } catch (IOException e) {
                // the balancer may answer and close before reading everything
            }
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            try {
                s.getInputStream().transferTo(all);
            } catch (IOException e) {
                // reset after the answer
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
