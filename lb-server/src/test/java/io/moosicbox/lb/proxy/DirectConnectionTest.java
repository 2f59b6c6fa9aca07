package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The direct exchange's own connection handling (DirectConnection, DirectBackends), against a
 * backend on a raw socket that counts its connections: keep-alive reuse, an answer that comes in
 * pieces, and a backend that closes its idle keep-alive connections (nginx's keepalive_timeout),
 * which must cost neither an error nor a failure against the backend.
 */
class DirectConnectionTest {
    private ServerSocket backend;
    /** Backend connections that carried at least one request. */
    private final AtomicInteger accepted = new AtomicInteger();
    private LoadBalancer lb;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        backend = TestBalancer.rawBackend(s -> serve(s, accepted));
        lb = TestBalancer.start(Duration.ofSeconds(5), TestBalancer.cluster("round_robin", PoolSettings.defaults(),
                "http://127.0.0.1:" + backend.getLocalPort()));
    }

    /** Answers request after request on one connection, until the client or /bye ends it; counts connections that carried a request (not the TCP health checks). */
    private static void serve(Socket s, AtomicInteger used) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            boolean first = true;
            for (String head; !(head = readHead(in)).isEmpty(); first = false) {
                if (first) {
                    used.incrementAndGet();
                }
                if (head.startsWith("GET /bye")) {
                    // Answered, then the connection closed as idle soon after, as a keep-alive timeout does.
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(100);
                    return;
                }
                if (head.startsWith("GET /dated")) {
                    // As every origin server with a clock answers (RFC 9110 6.6.1).
                    out.write("HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    continue;
                }
                // The head and the first half of the body, then the rest a little later.
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread.sleep(20);
                out.write("world".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the client left
        }
    }

    private static String readHead(InputStream in) {
        StringBuilder head = new StringBuilder();
        try {
            for (int c; (c = in.read()) >= 0; ) {
                head.append((char) c);
                if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                    return head.toString();
                }
            }
        } catch (IOException e) {
            // reset
        }
        return "";
    }

    @AfterEach
    void stop() throws Exception {
        lb.stop();
        backend.close();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.proxyPort() + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void requestsOneAfterAnotherReuseOneBackendConnectionAndBodiesInPiecesArriveWhole() throws Exception {
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> response = get("/track/" + i);
            assertEquals(200, response.statusCode());
            assertEquals("helloworld", response.body(), "request " + i);
        }
        assertEquals(1, accepted.get(), "backend connections opened for 20 requests in a row");
    }

    /** Date is a singleton field: the backend's replaces the balancer's own, as through Jetty's client. */
    @Test
    void theBackendsDateIsTheOnlyDate() throws Exception {
        HttpResponse<String> response = get("/dated");
        assertEquals(200, response.statusCode());
        assertEquals(java.util.List.of("Mon, 01 Jan 2024 00:00:00 GMT"), response.headers().allValues("date"));
    }

    @Test
    void aBackendThatClosesItsIdleConnectionCostsNoErrorAndNoFailure() throws Exception {
        Backend b = TestBalancer.only(lb).backends().getFirst();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> response = get("/bye");
            assertEquals(200, response.statusCode(), "request " + i);
            assertEquals("ok", response.body());
            // Long enough for the backend's close to arrive before the next request.
            Thread.sleep(300);
        }
        TestBalancer.awaitIdle(lb);
        assertEquals(3, accepted.get(), "one connection per request: each closed by the backend");
        assertEquals(0, b.failures(), "last error: " + b.lastError());
        assertEquals(0, b.retries(), "a closed idle connection is never tried");
    }
}
