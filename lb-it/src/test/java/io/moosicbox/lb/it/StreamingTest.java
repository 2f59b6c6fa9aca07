package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamRequestContent;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpHeader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Multi-gigabyte bodies through the packaged balancer, started with a 128 MiB heap: its memory
 * must not depend on the size of what passes through, and no timeout may cut a transfer that
 * keeps flowing (each one here lasts longer than the idle and response-headers timeouts).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StreamingTest {
    private static final long GIB = 1L << 30;
    private static PatternBackend backend;
    private static LbProcess lb;
    private static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        backend = new PatternBackend();
        lb = LbProcess.launch(Map.of(
                "BACKEND_SERVERS", backend.url(),
                "JAVA_OPTS", "-Xms64m -Xmx128m",
                // Shorter than every 1 GiB transfer here: a transfer that keeps flowing outlives both.
                "IDLE_TIMEOUT", "3s",
                "RESPONSE_HEADERS_TIMEOUT", "3s"));
        lb.awaitListening(java.time.Duration.ofSeconds(90));
        client = new HttpClient();
        // Only silence fails a transfer: a long one that keeps flowing must not be cut.
        client.setIdleTimeout(30_000);
        client.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (client != null) {
            client.stop();
        }
        if (lb != null) {
            lb.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void oneGibDownloadIsByteExactThroughTheBalancerWithA128MibHeap() throws Exception {
        download(lb.proxyUrl() + "/bytes/" + GIB, true);
        assertTrue(lb.process().isAlive(), "the balancer survived:\n" + (lb.stderr() + lb.stdout()));
        // The rate without the client's byte check, which would be the bottleneck.
        double direct = download(backend.url() + "/bytes/" + GIB, false);
        double balanced = download(lb.proxyUrl() + "/bytes/" + GIB, false);
        String report = String.format("1 GiB download, balancer with -Xms64m -Xmx128m:%n"
                + "  direct:       %.0f MiB/s%n  via balancer: %.0f MiB/s%n  balancer resident memory after: %d MiB%n",
                direct, balanced, residentKib(lb.pid()) / 1024);
        System.out.print(report);
        Files.writeString(Path.of("target", "streaming-rates.txt"), report);
    }

    /** @return MiB/s */
    private static double download(String url, boolean check) throws Exception {
        InputStreamResponseListener listener = new InputStreamResponseListener();
        long started = System.nanoTime();
        client.newRequest(url).send(listener);
        Response response = listener.get(30, TimeUnit.SECONDS);
        assertEquals(200, response.getStatus());
        assertEquals(Long.toString(GIB), response.getHeaders().get(HttpHeader.CONTENT_LENGTH));
        long offset = 0;
        byte[] buffer = new byte[256 * 1024];
        try (InputStream in = listener.getInputStream()) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                long bad = check ? BytePattern.firstMismatch(buffer, offset, n) : -1;
                assertEquals(-1, bad, "wrong byte at offset " + bad);
                offset += n;
            }
        }
        assertEquals(GIB, offset, "bytes received");
        return (GIB / 1048576.0) / ((System.nanoTime() - started) / 1e9);
    }

    @Test
    void aClientThatStopsReadingHoldsTheBackendBack() throws Exception {
        InputStreamResponseListener listener = new InputStreamResponseListener();
        client.newRequest(lb.proxyUrl() + "/bytes/" + GIB).send(listener);
        assertEquals(200, listener.get(30, TimeUnit.SECONDS).getStatus());
        long before = backend.served.get();
        try (InputStream in = listener.getInputStream()) {
            assertEquals(1 << 20, in.readNBytes(1 << 20).length);
            // The client reads nothing more; wait until the backend cannot write any further.
            long last = -1;
            for (int i = 0; i < 100 && backend.served.get() != last; i++) {
                last = backend.served.get();
                Thread.sleep(300);
            }
            long sent = backend.served.get() - before;
            assertTrue(sent < (64L << 20), "the backend wrote " + (sent >> 20) + " MiB for a client that read 1 MiB");
            assertTrue(lb.process().isAlive(), "the balancer survived:\n" + (lb.stderr() + lb.stdout()));
        }
    }

    @Test
    void rangeRequestsReturnTheRightBytes() throws Exception {
        ContentResponse r = client.newRequest(lb.proxyUrl() + "/bytes/" + GIB)
                .headers(h -> h.put(HttpHeader.RANGE, "bytes=1000000000-1000000099")).send();
        assertEquals(206, r.getStatus());
        assertEquals("bytes 1000000000-1000000099/" + GIB, r.getHeaders().get(HttpHeader.CONTENT_RANGE));
        assertEquals(100, r.getContent().length);
        assertEquals(-1, BytePattern.firstMismatch(r.getContent(), 1_000_000_000L, 100));

        ContentResponse tail = client.newRequest(lb.proxyUrl() + "/bytes/" + GIB)
                .headers(h -> h.put(HttpHeader.RANGE, "bytes=-10")).send();
        assertEquals(206, tail.getStatus());
        assertEquals(-1, BytePattern.firstMismatch(tail.getContent(), GIB - 10, 10));

        // Past 2^31 and 2^32 of a 6 GiB file: no int anywhere on the way.
        long big = 6L << 30;
        for (long from : new long[] {(1L << 31) - 10, (1L << 32) - 10, big - 20}) {
            ContentResponse far = client.newRequest(lb.proxyUrl() + "/bytes/" + big)
                    .headers(h -> h.put(HttpHeader.RANGE, "bytes=" + from + "-" + (from + 19))).send();
            assertEquals(206, far.getStatus());
            assertEquals("bytes " + from + "-" + (from + 19) + "/" + big, far.getHeaders().get(HttpHeader.CONTENT_RANGE));
            assertEquals(20, far.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH));
            assertEquals(-1, BytePattern.firstMismatch(far.getContent(), from, 20));
        }
        ContentResponse head = client.newRequest(lb.proxyUrl() + "/bytes/" + big).method("HEAD").send();
        assertEquals(200, head.getStatus());
        assertEquals(big, head.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH));

        ContentResponse ifRangeMatches = client.newRequest(lb.proxyUrl() + "/bytes/100000")
                .headers(h -> h.put(HttpHeader.RANGE, "bytes=500-599").put(HttpHeader.IF_RANGE, PatternBackend.ETAG)).send();
        assertEquals(206, ifRangeMatches.getStatus());
        assertEquals(-1, BytePattern.firstMismatch(ifRangeMatches.getContent(), 500, 100));

        ContentResponse ifRangeStale = client.newRequest(lb.proxyUrl() + "/bytes/100000")
                .headers(h -> h.put(HttpHeader.RANGE, "bytes=500-599").put(HttpHeader.IF_RANGE, "\"old\"")).send();
        assertEquals(200, ifRangeStale.getStatus(), "a changed resource comes whole");
        assertEquals(100000, ifRangeStale.getContent().length);
    }

    /**
     * A backend that dies in the middle of a Range download far past 4 GiB: the client sees the
     * body break off (never a complete-looking answer), the dead backend has exactly one failure
     * against it, and the player's resuming Range request is served by the other backend.
     */
    @Test
    void aBackendThatDiesMidDownloadIsOneFailureAndTheResumeGoesElsewhere() throws Exception {
        long size = 6L << 30;
        long start = 5_000_000_000L;
        try (PatternBackend one = new PatternBackend(); PatternBackend two = new PatternBackend();
             LbProcess twoBackends = LbProcess.start(Map.of("BACKEND_SERVERS", one.url() + "," + two.url(),
                     "HEALTH_CHECK_INTERVAL", "1h"))) {
            InputStreamResponseListener listener = new InputStreamResponseListener();
            client.newRequest(twoBackends.proxyUrl() + "/bytes/" + size)
                    .headers(h -> h.put(HttpHeader.RANGE, "bytes=" + start + "-")).send(listener);
            Response response = listener.get(30, TimeUnit.SECONDS);
            assertEquals(206, response.getStatus());
            assertEquals("bytes " + start + "-" + (size - 1) + "/" + size, response.getHeaders().get(HttpHeader.CONTENT_RANGE));
            assertEquals(size - start, response.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH));
            byte[] buffer = new byte[64 * 1024];
            long received = 0;
            boolean broke = false;
            String dead = null;
            try (InputStream in = listener.getInputStream()) {
                received += in.readNBytes(buffer, 0, buffer.length);
                assertEquals(-1, BytePattern.firstMismatch(buffer, start, (int) received));
                PatternBackend serving = one.served.get() > 0 ? one : two;
                dead = serving.url().substring("http://".length());
                serving.server.stop(); // its connections close in the middle of the body, as with kill -9
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    assertEquals(-1, BytePattern.firstMismatch(buffer, start + received, n));
                    received += n;
                }
            } catch (java.io.IOException cut) {
                broke = true;
            }
            assertTrue(broke, "the body ended in order after " + received + " of " + (size - start) + " bytes");
            String address = dead;
            Await.until("the cut stream out of the dead backend's in-flight count",
                    () -> backend(twoBackends, address).path("inflight").asInt(-1) == 0);
            assertEquals(1, backend(twoBackends, address).path("counters").path("failures").asInt(),
                    "the crash counted once: " + backend(twoBackends, address));

            long resume = start + received;
            ContentResponse rest = client.newRequest(twoBackends.proxyUrl() + "/bytes/" + size)
                    .headers(h -> h.put(HttpHeader.RANGE, "bytes=" + resume + "-" + (resume + (1 << 20) - 1))).send();
            assertEquals(206, rest.getStatus());
            assertEquals(1 << 20, rest.getContent().length);
            assertEquals(-1, BytePattern.firstMismatch(rest.getContent(), resume, 1 << 20));
            assertTrue(twoBackends.process().isAlive());
        }
    }

    /** The backend's entry in /api/backends; missing when it is not listed or the API did not answer. */
    private static com.fasterxml.jackson.databind.JsonNode backend(LbProcess lb, String address) {
        try {
            for (com.fasterxml.jackson.databind.JsonNode b : new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(Curl.run(lb.adminUrl() + "/api/backends").body())) {
                if (address.equals(b.path("address").asText())) {
                    return b;
                }
            }
        } catch (Exception e) {
            // not answered yet
        }
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    @Test
    void oneGibUploadStreamsThrough() throws Exception {
        double balanced = upload(lb.proxyUrl());
        assertTrue(lb.process().isAlive(), "the balancer survived:\n" + (lb.stderr() + lb.stdout()));
        double direct = upload(backend.url());
        String report = String.format("1 GiB upload (checked by the backend):%n  direct:       %.0f MiB/s%n"
                + "  via balancer: %.0f MiB/s%n", direct, balanced);
        System.out.print(report);
        Files.writeString(Path.of("target", "streaming-upload-rates.txt"), report);
    }

    /** @return MiB/s */
    private static double upload(String baseUrl) throws Exception {
        long started = System.nanoTime();
        ContentResponse r = client.POST(baseUrl + "/upload")
                .body(new InputStreamRequestContent("application/octet-stream", new PatternInputStream(GIB), 64 * 1024))
                .send();
        assertEquals(200, r.getStatus());
        assertEquals("ok " + GIB, r.getContentAsString());
        return (GIB / 1048576.0) / ((System.nanoTime() - started) / 1e9);
    }

    @Test
    void expectContinueWaitsForTheBackendsAnswer() throws Exception {
        ContentResponse accepted = client.POST(lb.proxyUrl() + "/upload")
                .headers(h -> h.put(HttpHeader.EXPECT, "100-continue"))
                .body(new InputStreamRequestContent(new PatternInputStream(1 << 20)))
                .send();
        assertEquals(200, accepted.getStatus());
        assertEquals("ok " + (1 << 20), accepted.getContentAsString());

        PatternInputStream body = new PatternInputStream(1 << 20);
        CompletableFuture<Result> rejected = new CompletableFuture<>();
        client.POST(lb.proxyUrl() + "/upload-reject")
                .headers(h -> h.put(HttpHeader.EXPECT, "100-continue"))
                .body(new InputStreamRequestContent(body))
                .timeout(10, TimeUnit.SECONDS)
                .send(rejected::complete);
        Result result = rejected.get(15, TimeUnit.SECONDS);
        assertEquals(401, result.getResponse().getStatus(), "the backend's refusal reaches the client");
        // Jetty's client fails the request when the expectation is refused: the body was never sent.
        assertTrue(result.getRequestFailure() != null, "the body was not sent");
        assertTrue(body.position < (1 << 20), "the body was not read whole: " + body.position + " bytes");
    }

    /** Resident memory of a process, from /proc; -1 where there is none. */
    private static long residentKib(long pid) throws java.io.IOException {
        Path status = Path.of("/proc/" + pid + "/status");
        if (Files.exists(status)) {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        }
        return -1;
    }

    /** {@link BytePattern} content of a given length, made as it is read. */
    static final class PatternInputStream extends InputStream {
        private final long length;
        private volatile long position;

        PatternInputStream(long length) {
            this.length = length;
        }

        @Override
        public int read() {
            return position < length ? BytePattern.at(position++) & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (position >= length) {
                return -1;
            }
            int n = (int) Math.min(len, length - position);
            for (int i = 0; i < n; i++) {
                b[off + i] = BytePattern.at(position + i);
            }
            position += n;
            return n;
        }
    }
}
