package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A response that its backend cuts in the middle never looks complete to the client. The hard
 * case is an HTTP/1.0 client and a body of no announced length (a transcode, sent chunked): the
 * orderly end of the connection is where such a body ends, so the cut must be a reset.
 */
class CutResponseTest {
    private ServerSocket backend;
    private LoadBalancer lb;
    private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        // Headers and part of a chunked body, then the backend closes: no last chunk.
        backend = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!backend.isClosed()) {
                try (Socket s = backend.accept()) {
                    String head = readHead(s.getInputStream());
                    if (head.isEmpty()) {
                        continue; // a TCP health check
                    }
                    OutputStream out = s.getOutputStream();
                    if (head.startsWith("GET /close")) {
                        // A body of no announced length, ended by the backend's orderly close (RFC 9112 6.3, point 8).
                        out.write(("HTTP/1.1 200 OK\r\nContent-Type: audio/flac\r\nConnection: close\r\n\r\n"
                                + "y".repeat(100_000)).getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        continue;
                    }
                    if (head.startsWith("GET /range")) {
                        // A Range answer far beyond 4 GiB, with its length, and then a crash (kill -9) after 1000 bytes.
                        out.write(("HTTP/1.1 206 Partial Content\r\nContent-Type: audio/flac\r\n"
                                + "Content-Range: bytes 5000000000-5000099999/6442450944\r\nContent-Length: 100000\r\n\r\n"
                                + "x".repeat(1000)).getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        continue;
                    }
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: audio/flac\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "3e8\r\n" + "x".repeat(1000) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    // /slow: the rest would come later (a transcode), so that a shutdown finds it in flight.
                    Thread.sleep(head.startsWith("GET /slow") ? 5000 : 200);
                } catch (IOException | InterruptedException e) {
                    // the test ended, or a client left
                }
            }
        });
        lb = TestBalancer.start(Duration.ofSeconds(5), TestBalancer.cluster("round_robin", PoolSettings.defaults(),
                "http://127.0.0.1:" + backend.getLocalPort()));
        lb.setExchangeListener(exchanges::add);
    }

    @AfterEach
    void stop() throws Exception {
        lb.stop();
        backend.close();
    }

    /**
     * Waiting for the client to take a write excuses a backend that went silent (its connection is
     * not read meanwhile), not one that crashed: AdminApiTest once saw a backend's reset, read while
     * the write of the response's first bytes still waited under load, counted as the client's cut.
     */
    @Test
    void waitingForTheClientExcusesASilentBackendNotACrashedOne() {
        assertTrue(ProxyExchange.excusesBackend(false, true, new java.util.concurrent.TimeoutException("Idle timeout expired")));
        assertTrue(ProxyExchange.excusesBackend(false, true, new IOException("wrapped", new java.util.concurrent.TimeoutException())));
        assertFalse(ProxyExchange.excusesBackend(false, true, new java.io.EOFException("reset")));
        assertFalse(ProxyExchange.excusesBackend(false, true, new SocketException("Connection reset")));
        assertFalse(ProxyExchange.excusesBackend(false, false, new java.util.concurrent.TimeoutException()));
        assertTrue(ProxyExchange.excusesBackend(true, false, new java.io.EOFException()), "a client that left excuses anything");
    }

    @Test
    void anHttp10ClientSeesAResetNotTheEndOfTheBody() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", lb.proxyPort())) {
            socket.setSoTimeout(5000);
            socket.getOutputStream().write("GET /track.flac HTTP/1.0\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            boolean reset = false;
            try {
                byte[] buffer = new byte[8192];
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    received.write(buffer, 0, n);
                }
            } catch (SocketException e) {
                reset = true;
            }
            String answer = received.toString(StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.0 200") || answer.startsWith("HTTP/1.1 200"), answer);
            assertTrue(answer.contains("x".repeat(1000)), "the part the backend sent reached the client first");
            assertTrue(reset, "the connection ended in order after " + received.size()
                    + " bytes: an HTTP/1.0 client takes that for the whole body");
        }
        TestBalancer.awaitIdle(lb);
        TestBalancer.await("the exchange's report", Duration.ofSeconds(5), () -> !exchanges.isEmpty());
        assertEquals(Exchange.End.BACKEND, exchanges.getFirst().end(), "the log and metrics say who cut it: " + exchanges);
        assertEquals(200, exchanges.getFirst().status());
    }

    /**
     * A backend killed in the middle of a Range answer: the client sees a reset before the announced
     * length, and the backend has one failure against it (passive health, last_error, the access
     * log's backend_failure), as it has when it dies before answering. It counted as a success, so
     * that a backend crashing mid-stream also cleared its run of failures.
     */
    @Test
    void aBackendThatDiesMidBodyCountsOnceAgainstIt() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", lb.proxyPort())) {
            socket.setSoTimeout(5000);
            socket.getOutputStream().write("GET /range HTTP/1.1\r\nHost: music.example.com\r\nRange: bytes=5000000000-5000099999\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            boolean cut = false;
            try {
                byte[] buffer = new byte[8192];
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    received.write(buffer, 0, n);
                }
                cut = true; // an orderly end before the announced length is a visible cut too
            } catch (SocketException e) {
                cut = true;
            }
            String answer = received.toString(StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 206"), answer);
            assertTrue(answer.contains("Content-Range: bytes 5000000000-5000099999/6442450944"), answer);
            assertTrue(answer.contains("Content-Length: 100000"), answer);
            assertTrue(cut && answer.length() < 100000, "the client did not see the body end short");
        }
        TestBalancer.awaitIdle(lb);
        TestBalancer.await("the exchange's report", Duration.ofSeconds(5), () -> !exchanges.isEmpty());
        Exchange e = exchanges.getFirst();
        assertEquals(Exchange.End.BACKEND, e.end(), e.toString());
        assertEquals(206, e.status());
        io.moosicbox.lb.pool.Backend b = TestBalancer.only(lb).backends().getFirst();
        assertEquals(1, b.failures(), "the crash counted against the backend once");
        assertEquals(1, b.consecutiveFailures(), "the crash did not count as a success");
        assertTrue(e.backendFailure(), "the access log's backend_failure: " + e);
        assertNotNull(b.lastError(), "the admin API's last_error");
    }

    /**
     * The other side of counting a closed connection mid-body against the backend: a body that
     * ends with the connection, as its backend announced with Connection: close and no length, is
     * complete and a success (three times: more than passive health takes to eject).
     */
    @Test
    void aBodyThatEndsWithTheBackendsCloseIsASuccess() throws Exception {
        for (int n = 0; n < 3; n++) {
            try (Socket socket = new Socket("127.0.0.1", lb.proxyPort())) {
                socket.setSoTimeout(5000);
                socket.getOutputStream().write("GET /close HTTP/1.0\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(answer.startsWith("HTTP/1.0 200") || answer.startsWith("HTTP/1.1 200"), answer);
                assertTrue(answer.endsWith("\r\n\r\n" + "y".repeat(100_000)), "the whole body, then an orderly end");
            }
        }
        TestBalancer.awaitIdle(lb);
        TestBalancer.await("the exchanges' reports", Duration.ofSeconds(5), () -> exchanges.size() >= 3);
        for (Exchange e : exchanges) {
            assertEquals(Exchange.End.COMPLETE, e.end(), e.toString());
            assertTrue(!e.backendFailure(), "the access log's backend_failure: " + e);
        }
        io.moosicbox.lb.pool.Backend b = TestBalancer.only(lb).backends().getFirst();
        assertEquals(0, b.failures(), "a close that ends the body is not a failure: " + b.lastError());
        assertEquals(null, b.lastError());
        assertEquals(io.moosicbox.lb.pool.BackendState.UP, b.state());
    }

    /** A stream still running when the shutdown's timeout (1 s here) ends is cut the same way. */
    @Test
    void aShutdownCutsAnHttp10StreamWithAReset() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", lb.proxyPort())) {
            socket.setSoTimeout(8000);
            socket.getOutputStream().write("GET /slow HTTP/1.0\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            int first = in.read(buffer);
            assertTrue(first > 0, "the stream began");
            Thread stopper = Thread.ofVirtual().start(() -> {
                try {
                    lb.stop();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            boolean reset = false;
            try {
                while (in.read(buffer) >= 0) {
                    // what is left of the first chunk
                }
            } catch (SocketException e) {
                reset = true;
            }
            stopper.join(Duration.ofSeconds(10));
            assertTrue(reset, "the shutdown ended the stream in order: an HTTP/1.0 client takes that for the whole body");
        }
        TestBalancer.await("the exchange's report", Duration.ofSeconds(5), () -> !exchanges.isEmpty());
        assertEquals(Exchange.End.SHUTDOWN, exchanges.getFirst().end(), exchanges.toString());
        io.moosicbox.lb.pool.Backend b = TestBalancer.only(lb).backends().getFirst();
        assertEquals(0, b.failures(), "the balancer's own stop is not the backend's failure: " + b.lastError());
        assertTrue(!exchanges.getFirst().backendFailure(), exchanges.toString());
    }

    /** @return the request's head; empty when the connection closed first */
    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        for (int b; (b = in.read()) >= 0; ) {
            head.append((char) b);
            if (head.toString().endsWith("\r\n\r\n")) {
                break;
            }
        }
        return head.toString();
    }
}
