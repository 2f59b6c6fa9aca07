package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.TestBalancer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code Expect: 100-continue} to a backend that does not speak it: the backend here reads the
 * body straight after the headers and never sends a 100, as HTTP/1.0 servers and Python's
 * {@code http.server} do; or sends it late; or at once. The client waits for the balancer's 100
 * before it sends its body.
 */
class ExpectContinueTest {
    private static final int BODY = 200_000;
    private ServerSocket backend;
    private LoadBalancer lb;
    private final AtomicInteger bodyBytesSeen = new AtomicInteger(-1);
    /** The request head the backend got last. */
    private volatile String backendHead;
    /** When the backend sends its 100, after the headers; -1 for never. */
    private volatile long continueAfterMs = -1;

    @BeforeEach
    void start() throws Exception {
        backend = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::serveWithoutContinue);
        lb = TestBalancer.start(Duration.ofSeconds(60),
                TestBalancer.cluster("round_robin", PoolSettings.defaults(), "http://127.0.0.1:" + backend.getLocalPort()));
    }

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        backend.close();
    }

    @Test
    void theBodyIsSentWhenTheBackendNeverAsksForIt() throws Exception {
        uploadAfterAbout(1_000);
    }

    @Test
    void aLateContinueFromTheBackendIsNotTakenForItsAnswer() throws Exception {
        continueAfterMs = 1_500;
        uploadAfterAbout(1_000);
    }

    @Test
    void aBackendThatAsksInTimeGetsTheBodyAtOnce() throws Exception {
        continueAfterMs = 0;
        uploadAfterAbout(0);
    }

    /**
     * RFC 9110 10.1.1: a server ignores a 100-continue expectation in an HTTP/1.0 request and must
     * not send it a 100, which such a client would take for the answer. The client here sends its
     * body late, after longer than the balancer waits for a backend's 100.
     */
    @Test
    void anHttp10ClientGetsNoContinueAndTheBackendNoExpectation() throws Exception {
        try (Socket client = new Socket("127.0.0.1", lb.proxyPort())) {
            OutputStream out = client.getOutputStream();
            InputStream in = client.getInputStream();
            out.write(("POST /upload HTTP/1.0\r\nHost: music.test\r\nContent-Length: " + BODY
                    + "\r\nExpect: 100-continue\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (backendHead == null && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(backendHead != null, "the backend got the request's headers before its body");
            assertFalse(backendHead.toLowerCase().contains("expect:"), "no expectation is passed on: " + backendHead);

            // Longer than the balancer waits for a backend's 100 before it reads the body anyway.
            client.setSoTimeout(1_500);
            assertThrows(SocketTimeoutException.class, in::read, "nothing is sent to the client before its body");

            client.setSoTimeout(10_000);
            byte[] body = new byte[BODY];
            Arrays.fill(body, (byte) 'x');
            out.write(body);
            out.flush();
            String head = readHead(in);
            assertTrue(head.matches("(?s)HTTP/1\\.[01] 200 .*"), "the backend's answer first: " + head);
            assertEquals(BODY, bodyBytesSeen.get(), "the backend got the whole body");
        }
    }

    /**
     * RFC 9110 10.1.1: a client must not send a 100-continue expectation with a request that has no
     * content, and the balancer is the backend's client. A GET without a body (the direct exchange)
     * loses it, as a request through Jetty's client does.
     */
    @Test
    void aGetWithoutBodyPassesNoExpectationOn() throws Exception {
        try (Socket client = new Socket("127.0.0.1", lb.proxyPort())) {
            client.setSoTimeout(10_000);
            client.getOutputStream().write(("GET /track HTTP/1.1\r\nHost: music.test\r\nExpect: 100-continue\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            client.getOutputStream().flush();
            String head = readHead(client.getInputStream());
            assertTrue(head.startsWith("HTTP/1.1 200"), "the backend's answer: " + head);
            assertTrue(backendHead != null && backendHead.startsWith("GET /track "), "the backend got the request: " + backendHead);
            assertFalse(backendHead.toLowerCase().contains("expect:"), "no expectation is passed on: " + backendHead);
        }
    }

    /** Uploads with Expect: 100-continue, and checks that the balancer's 100 came after about {@code continueMs}. */
    private void uploadAfterAbout(long continueMs) throws Exception {
        try (Socket client = new Socket("127.0.0.1", lb.proxyPort())) {
            client.setSoTimeout(10_000);
            OutputStream out = client.getOutputStream();
            InputStream in = client.getInputStream();
            long started = System.nanoTime();
            out.write(("POST /upload HTTP/1.1\r\nHost: music.test\r\nContent-Length: " + BODY
                    + "\r\nExpect: 100-continue\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();

            String interim = readHead(in);
            long waitedMs = (System.nanoTime() - started) / 1_000_000;
            assertTrue(interim.startsWith("HTTP/1.1 100"), "the balancer asks for the body: " + interim);
            assertTrue(waitedMs >= continueMs - 100 && waitedMs < continueMs + 900, "the 100 after " + waitedMs + " ms, expected about " + continueMs);

            byte[] body = new byte[BODY];
            Arrays.fill(body, (byte) 'x');
            out.write(body);
            out.flush();
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 200"), "the backend's answer, not a 504 at IDLE_TIMEOUT: " + head);
            assertEquals("got " + BODY, new String(in.readNBytes(("got " + BODY).length()), StandardCharsets.US_ASCII));
            assertEquals(BODY, bodyBytesSeen.get(), "the backend got the whole body");
        }
    }

    /** One request per connection: reads the headers, then Content-Length bytes, then answers. */
    private void serveWithoutContinue() {
        while (!backend.isClosed()) {
            try (Socket s = backend.accept()) {
                s.setSoTimeout(20_000);
                InputStream in = s.getInputStream();
                String head = readHead(in);
                if (head.isEmpty()) {
                    // A health check's bare connect: it must not overwrite what the upload's connection saw.
                    continue;
                }
                backendHead = head;
                if (continueAfterMs >= 0) {
                    Thread.sleep(continueAfterMs);
                    s.getOutputStream().write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                int length = 0;
                for (String line : head.split("\r\n")) {
                    if (line.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring("content-length:".length()).trim());
                    }
                }
                bodyBytesSeen.set(in.readNBytes(length).length);
                String answer = "got " + bodyBytesSeen.get();
                s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: " + answer.length()
                        + "\r\nConnection: close\r\n\r\n" + answer).getBytes(StandardCharsets.US_ASCII));
            } catch (IOException | InterruptedException e) {
                // closed at the end of the test, or a connection the balancer gave up
            }
        }
    }

    /** The status line and headers, up to the empty line. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }
}
