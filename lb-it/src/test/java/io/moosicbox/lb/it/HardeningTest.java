package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * Faults and hostile input against the real process: backends are python3 processes that are
 * killed, stopped, or misbehave while clients keep asking; nothing truncated may pass as complete.
 */
class HardeningTest {
    private static final int BODY = 256 * 1024;

    @Test
    void aConfigurationTheFuzzerBrokeExitsTwoWithAMessage() throws Exception {
        Path file = Files.createTempFile(Files.createDirectories(Path.of("target", "lb-runs")), "fuzzed-", ".yaml");
        Files.writeString(file, "clusters:\n  - name: a\n    hosts: [\"*\"]\n    backends: [http://10.0.0.2:800101]\n");
        try (LbProcess lb = LbProcess.launch(Map.of("LB_CONFIG", file.toString()))) {
            assertEquals(2, lb.awaitExit(Duration.ofSeconds(30)), lb.stderr());
            assertTrue(lb.stderr().contains("800101"), lb.stderr());
            assertFalse(lb.stderr().contains("Exception") || lb.stderr().contains("\tat "), lb.stderr());
        }
        try (LbProcess lb = LbProcess.launch(Map.of("BACKEND_SERVERS", "127.0.0.1:9", "TRUSTED_PROXIES", "proxy.example.com",
                "MAX_BODY_SIZE", "lots"))) {
            assertEquals(2, lb.awaitExit(Duration.ofSeconds(30)), lb.stderr());
            assertTrue(lb.stderr().contains("TRUSTED_PROXIES=\"proxy.example.com\"") && lb.stderr().contains("MAX_BODY_SIZE=\"lots\""),
                    lb.stderr());
        }
    }

    @Test
    void killedAndStoppedBackendsUnderLoadNeverYieldATruncatedSuccess() throws Exception {
        int[] ports = Ports.free(2);
        int portA = ports[0];
        int portB = ports[1];
        Backend a = Backend.start(portA, "a", "normal");
        Backend b = Backend.start(portB, "b", "normal");
        // Short timeouts so that the stopped backend's requests end within the test's bounds.
        try (LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", "127.0.0.1:" + portA + ",127.0.0.1:" + portB,
                "RESPONSE_HEADERS_TIMEOUT", "2s", "IDLE_TIMEOUT", "2s", "HEALTH_CHECK_PATH", "/health",
                "HEALTH_CHECK_INTERVAL", "500ms", "HEALTH_CHECK_TIMEOUT", "500ms", "LB_EJECT_TIME", "1s"));
             Load load = new Load(lb.proxyUrl() + "/data?n=" + BODY, 4)) {
            load.awaitServedBy("a", 1, Duration.ofSeconds(20));
            a.process.destroyForcibly().waitFor();               // SIGKILL, mid-response for some requests
            load.awaitOutcomes(20, Duration.ofSeconds(20));
            a = Backend.start(portA, "a", "normal");
            // UP is logged only when a DOWN backend (ejected, or failing its checks) comes back.
            awaitLog(lb, "backend 127.0.0.1:" + portA + " is UP", 1);
            long servedByA = load.servedBy("a");
            load.awaitServedBy("a", servedByA + 3, Duration.ofSeconds(30));   // back in rotation

            signal(b.process.pid(), "STOP");
            long failures = load.gatewayErrors.sum() + load.errors.sum();
            load.awaitFailures(failures + 1, Duration.ofSeconds(20));
            Thread.sleep(2000);   // its health checks time out meanwhile: a stop of less than 3 checks goes unnoticed
            signal(b.process.pid(), "CONT");
            awaitLog(lb, "backend 127.0.0.1:" + portB + " is UP", 1);
            long servedByB = load.servedBy("b");
            load.awaitServedBy("b", servedByB + 3, Duration.ofSeconds(30));
            load.stop();
            System.out.println("faults under load: " + load.summary());
            assertEquals(0, load.truncatedSuccesses.sum(), load.summary());
            assertEquals(0, load.otherStatuses.sum(), load.summary());
            assertTrue(load.complete.sum() > 20, load.summary());
        } finally {
            a.process.destroyForcibly();
            signal(b.process.pid(), "CONT");
            b.process.destroyForcibly();
        }
    }

    @Test
    void garbageIs502AndAResetMidResponseClosesTheClientConnection() throws Exception {
        int[] ports = Ports.free(2);
        int garbagePort = ports[0];
        int resetPort = ports[1];
        Backend garbage = Backend.start(garbagePort, "garbage", "garbage");
        Backend reset = Backend.start(resetPort, "reset", "reset");
        try (LbProcess g = LbProcess.start(Map.of("BACKEND_SERVERS", "127.0.0.1:" + garbagePort));
             LbProcess r = LbProcess.start(Map.of("BACKEND_SERVERS", "127.0.0.1:" + resetPort))) {
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> answer = client.send(HttpRequest.newBuilder(URI.create(g.proxyUrl() + "/x")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(502, answer.statusCode(), answer.body());
            // Raw socket: the status line and headers arrive, then the connection ends before Content-Length bytes.
            try (Socket s = new Socket("127.0.0.1", r.proxyPort())) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write(("GET /data?n=" + BODY + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                InputStream in = s.getInputStream();
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                byte[] buffer = new byte[64 * 1024];
                try {
                    for (int n; (n = in.read(buffer)) != -1; ) {
                        got.write(buffer, 0, n);
                    }
                } catch (SocketTimeoutException leftOpen) {
                    fail("the client's connection was left open after the backend's reset (" + got.size() + " bytes read)");
                } catch (IOException resetByProxy) {
                    // A reset ends the connection too (and may drop what was still unread).
                }
                String text = got.toString(StandardCharsets.ISO_8859_1);
                int headEnd = text.indexOf("\r\n\r\n");
                int bodyRead = headEnd < 0 ? 0 : got.size() - headEnd - 4;
                assertTrue(bodyRead < BODY, "the client must not get a whole body: " + bodyRead);
            }
        } finally {
            garbage.process.destroyForcibly();
            reset.process.destroyForcibly();
        }
    }

    /** The kernel completes the connection into the backlog, the backend never accepts it: 504, not a hang. */
    /** A bad request is the client's 400, not a warning in the operator's log: any client could write one line per request. */
    @Test
    void requestsWithTwoHostHeadersWriteNothingToTheLog() throws Exception {
        try (ServerSocket unused = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", "127.0.0.1:" + unused.getLocalPort()))) {
            for (int i = 0; i < 5; i++) {
                try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                    s.setSoTimeout(5000);
                    s.getOutputStream().write("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.ISO_8859_1);
                    assertEquals("HTTP/1.1 400", answer);
                }
            }
            String log = lb.stdout() + lb.stderr();
            assertFalse(log.contains("Host"), log);
        }
    }

    @Test
    void aBackendThatDoesNotAcceptIs504() throws Exception {
        try (ServerSocket neverAccepts = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", "127.0.0.1:" + neverAccepts.getLocalPort(),
                     "RESPONSE_HEADERS_TIMEOUT", "1s"))) {
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            long start = System.nanoTime();
            HttpResponse<String> answer = client.send(HttpRequest.newBuilder(URI.create(lb.proxyUrl() + "/x"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(504, answer.statusCode(), answer.body());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos());
        }
    }

    @Test
    void aSoakShowsNoGrowthOfDescriptorsThreadsOrMemory() throws Exception {
        int port = Ports.free(1)[0];
        Backend backend = Backend.start(port, "a", "normal");
        long seconds = Long.getLong("lb.soak.seconds", 60);
        try (LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", "127.0.0.1:" + port));
             Load load = new Load(lb.proxyUrl() + "/data?n=16384", 4)) {
            load.awaitOutcomes(200, Duration.ofSeconds(30));   // warm up before the first figures
            Proc start = Proc.of(lb.pid());
            long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
            while (System.nanoTime() < deadline) {
                Thread.sleep(1000);
            }
            Proc end = Proc.of(lb.pid());
            load.stop();
            System.out.println("soak " + seconds + " s: start " + start + ", end " + end + ", " + load.summary());
            assertEquals(0, load.truncatedSuccesses.sum() + load.otherStatuses.sum() + load.errors.sum(), load.summary());
            assertTrue(end.fds - start.fds < 20, "file descriptors: " + start + " → " + end);
            assertTrue(end.threads - start.threads < 20, "threads: " + start + " → " + end);
            assertTrue(end.rssKb < start.rssKb + 128 * 1024, "RSS: " + start + " → " + end);
            assertTrue(start.heapKb > 0 && end.heapKb < start.heapKb + 16 * 1024, "heap after a full GC: " + start + " → " + end);
        } finally {
            backend.process.destroyForcibly();
        }
    }

    /** Open descriptors, threads and resident memory from /proc; heap in use after a full GC, from jcmd. */
    private record Proc(long fds, long threads, long rssKb, long heapKb) {
        static Proc of(long pid) throws IOException, InterruptedException {
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            run(jcmd.toString(), Long.toString(pid), "GC.run");
            java.util.regex.Matcher used = java.util.regex.Pattern.compile("used (\\d+)K")
                    .matcher(run(jcmd.toString(), Long.toString(pid), "GC.heap_info"));
            long heap = used.find() ? Long.parseLong(used.group(1)) : -1;
            long fds;
            try (var list = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                fds = list.count();
            }
            long threads = 0;
            long rss = 0;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Threads:")) {
                    threads = Long.parseLong(line.substring(8).trim());
                } else if (line.startsWith("VmRSS:")) {
                    rss = Long.parseLong(line.substring(6).replace("kB", "").trim());
                }
            }
            return new Proc(fds, threads, rss, heap);
        }

        private static String run(String... command) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
            return out;
        }

        @Override
        public String toString() {
            return "fd=" + fds + " threads=" + threads + " rss=" + rssKb / 1024 + "MiB heap-after-gc=" + heapKb / 1024 + "MiB";
        }
    }

    /** Clients asking in a loop; every answer is sorted into complete, proxy error, or broken. */
    private static final class Load implements AutoCloseable {
        final LongAdder complete = new LongAdder();
        final LongAdder gatewayErrors = new LongAdder();
        final LongAdder truncatedSuccesses = new LongAdder();
        final LongAdder otherStatuses = new LongAdder();
        final LongAdder errors = new LongAdder();
        final Map<String, LongAdder> served = new ConcurrentHashMap<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();
        private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        Load(String url, int clients) {
            for (int i = 0; i < clients; i++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    while (running.get()) {
                        ask(url);
                    }
                }));
            }
        }

        private void ask(String url) {
            try {
                HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                int expected = Integer.parseInt(url.substring(url.indexOf("n=") + 2));
                if (r.statusCode() == 200) {
                    if (r.body().length == expected && patternHolds(r.body())) {
                        complete.increment();
                        served.computeIfAbsent(r.headers().firstValue("X-Backend").orElse("?"), k -> new LongAdder()).increment();
                    } else {
                        truncatedSuccesses.increment();
                    }
                } else if (r.statusCode() == 502 || r.statusCode() == 503 || r.statusCode() == 504) {
                    gatewayErrors.increment();
                } else {
                    otherStatuses.increment();
                }
            } catch (IOException e) {
                errors.increment();   // the proxy closed the connection: an incomplete body is never taken as whole
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running.set(false);
            }
        }

        private static boolean patternHolds(byte[] body) {
            for (int i = 0; i < body.length; i += 997) {
                if ((body[i] & 0xff) != i % 251) {
                    return false;
                }
            }
            return true;
        }

        long outcomes() {
            return complete.sum() + gatewayErrors.sum() + truncatedSuccesses.sum() + otherStatuses.sum() + errors.sum();
        }

        long servedBy(String name) {
            LongAdder n = served.get(name);
            return n == null ? 0 : n.sum();
        }

        void awaitServedBy(String name, long count, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (servedBy(name) < count) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(name + " served " + servedBy(name) + " < " + count + ": " + summary());
                }
                Thread.sleep(20);
            }
        }

        void awaitFailures(long count, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (gatewayErrors.sum() + errors.sum() < count) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("fewer than " + count + " failures: " + summary());
                }
                Thread.sleep(20);
            }
        }

        void awaitOutcomes(long more, Duration timeout) throws InterruptedException {
            long target = outcomes() + more;
            long deadline = System.nanoTime() + timeout.toNanos();
            while (outcomes() < target && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }

        String summary() {
            return "complete=" + complete + " 502/503/504=" + gatewayErrors + " truncated-200=" + truncatedSuccesses
                    + " other-status=" + otherStatuses + " connection-errors=" + errors + " served=" + served;
        }

        void stop() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) {
                t.join(35_000);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop();
            client.close();
        }
    }

    /** A python3 backend process (see fault_backend.py). */
    private record Backend(Process process) {
        static Backend start(int port, String name, String mode) throws Exception {
            Path script = Path.of("target", "fault_backend.py");
            if (!Files.exists(script)) {
                try (InputStream in = HardeningTest.class.getResourceAsStream("/fault_backend.py")) {
                    Files.write(script, in.readAllBytes());
                }
            }
            Process p = new ProcessBuilder("python3", script.toString(), Integer.toString(port), name, mode)
                    .redirectErrorStream(true).start();
            byte[] line = new byte[10];
            int n = p.getInputStream().readNBytes(line, 0, line.length);
            if (!new String(line, 0, n, StandardCharsets.US_ASCII).startsWith("listening")) {
                p.destroyForcibly();
                throw new IllegalStateException("the python3 backend did not start: " + new String(line, 0, n, StandardCharsets.US_ASCII));
            }
            return new Backend(p);
        }
    }

    /** Waits until the balancer's log holds the line at least {@code count} times. */
    private static void awaitLog(LbProcess lb, String line, int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((lb.stderr() + lb.stdout()).split(java.util.regex.Pattern.quote(line), -1).length - 1 < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + line + "' in the log:\n" + lb.stderr() + lb.stdout());
            }
            Thread.sleep(50);
        }
    }

    private static void signal(long pid, String name) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start().waitFor();
    }

}
