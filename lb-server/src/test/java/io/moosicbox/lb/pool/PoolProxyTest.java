package io.moosicbox.lb.pool;

import static io.moosicbox.lb.pool.TestBalancer.await;
import static io.moosicbox.lb.pool.TestBalancer.awaitIdle;
import static io.moosicbox.lb.pool.TestBalancer.backend;
import static io.moosicbox.lb.pool.TestBalancer.cluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.server.LoadBalancer;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.client.AsyncRequestContent;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pools through a real balancer, with real backends on loopback. */
class PoolProxyTest {
    private static HttpClient client;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void startClient() throws Exception {
        client = new HttpClient();
        client.setMaxConnectionsPerDestination(64);
        client.start();
    }

    @AfterEach
    void closeAll() throws Exception {
        // First the client: its idle keep-alive connections would hold up the balancer's graceful stop.
        client.stop();
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    private TestBackend startBackend(String name) throws Exception {
        TestBackend b = TestBackend.start(name);
        toClose.add(b);
        return b;
    }

    /** A balancer whose one backend takes a single request at a time ({@code max_conns=1}); the rest wait in the queue. */
    private LoadBalancer oneSlot(TestBackend backend, String algorithm, int queueSize, Duration queueTimeout) throws Exception {
        return balancer(Duration.ofSeconds(5),
                cluster(algorithm, pool(2, queueSize, queueTimeout, 5, Duration.ofSeconds(10)), backend.url() + " max_conns=1"));
    }

    /** Sends a request that takes the backend's one slot, and waits until it has it. */
    private Future<ContentResponse> takeTheSlot(ExecutorService pool, LoadBalancer lb, TestBackend a) throws InterruptedException {
        Future<ContentResponse> first = pool.submit(() -> get(lb, "/"));
        await("first in flight", Duration.ofSeconds(2), () -> a.concurrent.get() == 1);
        return first;
    }

    private LoadBalancer balancer(Duration responseHeaders, io.moosicbox.lb.config.ClusterConfig cluster) throws Exception {
        LoadBalancer lb = TestBalancer.start(responseHeaders, cluster);
        toClose.add(lb::stop);
        return lb;
    }

    private static PoolSettings pool(int retries, int queueSize, Duration queueTimeout, int ejectAfter, Duration ejectTime) {
        return new PoolSettings(retries, queueSize, queueTimeout, Duration.ZERO, "client_ip", ejectAfter, ejectTime, false, false);
    }

    private static ContentResponse get(LoadBalancer lb, String path) throws Exception {
        return client.newRequest("127.0.0.1", lb.proxyPort()).path(path).timeout(10, TimeUnit.SECONDS).send();
    }

    private static Map<String, Integer> spread(LoadBalancer lb, int requests, String header) throws Exception {
        Map<String, Integer> counts = new ConcurrentHashMap<>();
        for (int i = 0; i < requests; i++) {
            var request = client.newRequest("127.0.0.1", lb.proxyPort()).path("/").timeout(5, TimeUnit.SECONDS);
            if (header != null) {
                request.headers(h -> h.put("X-User", header));
            }
            ContentResponse r = request.send();
            assertEquals(200, r.getStatus());
            counts.merge(r.getContentAsString(), 1, Integer::sum);
        }
        return counts;
    }

    /**
     * Requests from {@code workers} threads for at least {@code duration} and until {@code enough}
     * holds (at most 15 s: this machine may be busy); counts answers by body, failures under "error".
     *
     * @param midway run a third into the duration, such as killing a backend
     */
    private static Map<String, Integer> load(LoadBalancer lb, int workers, Duration duration,
                                             java.util.function.Predicate<Map<String, Integer>> enough, Runnable midway) throws Exception {
        Map<String, Integer> counts = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        long limit = start + Duration.ofSeconds(15).toNanos();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                running.add(pool.submit(() -> {
                    while (System.nanoTime() < limit && (System.nanoTime() < end || !enough.test(counts))) {
                        try {
                            ContentResponse r = get(lb, "/");
                            counts.merge(r.getStatus() == 200 ? r.getContentAsString() : "status " + r.getStatus(), 1, Integer::sum);
                        } catch (Exception e) {
                            counts.merge("error " + e, 1, Integer::sum);
                        }
                    }
                    return null;
                }));
            }
            if (midway != null) {
                Thread.sleep(duration.toMillis() / 3);
                midway.run();
            }
            for (Future<?> f : running) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
        return counts;
    }

    private static int total(Map<String, Integer> counts) {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    @Test
    void eachAlgorithmSpreadsRequestsAsItShould() throws Exception {
        TestBackend a = startBackend("a");
        TestBackend b = startBackend("b");

        LoadBalancer rr = balancer(Duration.ofSeconds(5), cluster("round_robin", PoolSettings.defaults(), a.url(), b.url()));
        assertEquals(Map.of("a", 100, "b", 100), spread(rr, 200, null));

        LoadBalancer wrr = balancer(Duration.ofSeconds(5),
                cluster("weighted_round_robin", PoolSettings.defaults(), a.url() + " weight=3", b.url()));
        assertEquals(Map.of("a", 150, "b", 50), spread(wrr, 200, null));

        LoadBalancer lc = balancer(Duration.ofSeconds(5), cluster("least_connections", PoolSettings.defaults(), a.url(), b.url()));
        Map<String, Integer> lcCounts = spread(lc, 200, null);
        assertTrue(Math.abs(lcCounts.get("a") - 100) <= 20, "idle ties go round robin: " + lcCounts);

        LoadBalancer p2c = balancer(Duration.ofSeconds(5), cluster("p2c_ewma", PoolSettings.defaults(), a.url(), b.url()));
        Map<String, Integer> p2cCounts = load(p2c, 8, Duration.ofMillis(800), c -> total(c) >= 200, null);
        int total = p2cCounts.values().stream().mapToInt(Integer::intValue).sum();
        assertEquals(total, p2cCounts.getOrDefault("a", 0) + p2cCounts.getOrDefault("b", 0), p2cCounts.toString());
        assertTrue(p2cCounts.getOrDefault("a", 0) > total / 8 && p2cCounts.getOrDefault("b", 0) > total / 8,
                "two equal backends both get a share (p2c favours the one answering faster): " + p2cCounts);

        LoadBalancer hash = balancer(Duration.ofSeconds(5), cluster("consistent_hash",
                new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "header:X-User"), a.url(), b.url()));
        Map<String, Integer> byUser = new ConcurrentHashMap<>();
        for (int u = 0; u < 200; u++) {
            Map<String, Integer> one = spread(hash, 3, "user" + u);
            assertEquals(1, one.size(), "a user sticks to one backend");
            one.keySet().forEach(k -> byUser.merge(k, 1, Integer::sum));
        }
        assertTrue(byUser.get("a") > 60 && byUser.get("b") > 60, "users spread over both: " + byUser);
    }

    @Test
    void leastConnectionsAndP2cAvoidABackendHeldBusy() throws Exception {
        TestBackend slow = startBackend("slow");
        TestBackend fast = startBackend("fast");
        slow.delayMs.set(1000);
        for (String algorithm : List.of("least_connections", "p2c_ewma")) {
            LoadBalancer lb = balancer(Duration.ofSeconds(5), cluster(algorithm, PoolSettings.defaults(), slow.url(), fast.url()));
            Map<String, Integer> counts = load(lb, 8, Duration.ofMillis(1200), c -> total(c) >= 150, null);
            int total = counts.values().stream().mapToInt(Integer::intValue).sum();
            int toSlow = counts.getOrDefault("slow", 0);
            assertEquals(total, toSlow + counts.getOrDefault("fast", 0), counts.toString());
            assertTrue(total >= 150 && toSlow * 10 < total, algorithm + " sent little to the busy backend: " + counts);
            awaitIdle(lb);
        }
    }

    @Test
    void aBackendKilledUnderLoadCostsIdempotentClientsNothing() throws Exception {
        TestBackend a = startBackend("a");
        TestBackend b = startBackend("b");
        TestBackend victim = startBackend("victim");
        // A generous response-headers timeout: on a loaded machine a live backend can be slow to answer,
        // and a 504 (never retried) would be blamed on the kill.
        LoadBalancer lb = balancer(Duration.ofSeconds(15), cluster("round_robin",
                pool(2, 100, Duration.ofSeconds(5), 2, Duration.ofSeconds(30)), a.url(), b.url(), victim.url()));
        Backend dead = backend(lb, victim);
        Map<String, Integer> counts = load(lb, 6, Duration.ofMillis(1500), c -> dead.ejections() > 0, () -> {
            try {
                victim.stop();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(List.of(), counts.keySet().stream().filter(k -> k.startsWith("error") || k.startsWith("status")).toList(),
                "no client error: " + counts);
        assertTrue(dead.retries() > 0, "requests that failed on the killed backend went elsewhere");
        assertEquals(BackendState.DOWN, dead.state(), "ejected by passive health");
        assertEquals(1, dead.ejections());
        awaitIdle(lb);
    }

    @Test
    void aBackendThatComesBackIsUpWithinRiseTimesInterval() throws Exception {
        TestBackend a = startBackend("a");
        TestBackend b = startBackend("b");
        Duration interval = Duration.ofMillis(200);
        Duration timeout = Duration.ofMillis(300);
        HealthCheckConfig health = new HealthCheckConfig(null, interval, timeout, 2, 1);
        LoadBalancer lb = balancer(Duration.ofSeconds(5), cluster("round_robin", health, PoolSettings.defaults(), a.url(), b.url()));
        Backend backendA = backend(lb, a);
        a.stop();
        await("a DOWN after a failing check", Duration.ofSeconds(3), () -> backendA.state() == BackendState.DOWN);
        assertTrue(backendA.lastError().startsWith("TCP connect: "), backendA.lastError());
        assertEquals(Map.of("b", 4), spread(lb, 4, null), "no traffic to a DOWN backend");
        a.restart();
        long restarted = System.nanoTime();
        long passedBefore = backendA.healthChecksPassed();
        await("a UP again", Duration.ofSeconds(5), () -> backendA.state() == BackendState.UP);
        long tookMs = (System.nanoTime() - restarted) / 1_000_000;
        assertEquals(2, backendA.healthChecksPassed() - passedBefore, "UP at its second passing check (rise 2)");
        // rise x interval; plus one check that began before the restart and a scheduling allowance for a busy machine
        long bound = 2 * interval.toMillis() + timeout.toMillis() + 500;
        assertTrue(tookMs <= bound, "UP within rise x interval: took " + tookMs + " ms, bound " + bound);
        assertEquals(Map.of("a", 5, "b", 5), spread(lb, 10, null));
    }

    @Test
    void aHangingBackendGets504WithinTheTimeoutAndIsEjected() throws Exception {
        TestBackend hanging = startBackend("hanging");
        TestBackend good = startBackend("good");
        hanging.delayMs.set(10_000);
        LoadBalancer lb = balancer(Duration.ofMillis(300),
                cluster("round_robin", pool(2, 100, Duration.ofSeconds(5), 2, Duration.ofSeconds(30)), hanging.url(), good.url()));
        Backend h = backend(lb, hanging);
        int timeouts = 0;
        for (int i = 0; i < 8; i++) {
            long start = System.nanoTime();
            ContentResponse r = get(lb, "/");
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (r.getStatus() == 504) {
                timeouts++;
                assertTrue(ms >= 250 && ms < 1500, "504 after the 300 ms timeout, took " + ms);
            } else {
                assertEquals(200, r.getStatus());
                assertEquals("good", r.getContentAsString());
            }
        }
        assertEquals(2, timeouts, "ejected after its second timeout; not retried (the client would wait again)");
        assertEquals(BackendState.DOWN, h.state());
        assertEquals(1, h.ejections());
        assertTrue(h.lastError().contains("no response headers within 300 ms"), h.lastError());
        assertTrue(h.ejectedUntilNanos() - System.nanoTime() > Duration.ofSeconds(20).toNanos());
        hanging.stop();
        awaitIdle(lb);
    }

    @Test
    void requestsOverMaxConnsWaitInABoundedQueueThen503() throws Exception {
        TestBackend a = startBackend("a");
        a.delayMs.set(400);
        LoadBalancer lb = oneSlot(a, "round_robin", 1, Duration.ofSeconds(3));
        Cluster cluster = TestBalancer.only(lb);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<ContentResponse> first = takeTheSlot(pool, lb, a);
            long queuedAt = System.nanoTime();
            Future<ContentResponse> second = pool.submit(() -> get(lb, "/"));
            await("second queued", Duration.ofSeconds(2), () -> cluster.queued() == 1);
            ContentResponse third = get(lb, "/");
            assertEquals(503, third.getStatus());
            assertEquals("1", third.getHeaders().get("Retry-After"));
            assertTrue(third.getContentAsString().contains("connection limit"), third.getContentAsString());
            assertEquals(200, first.get(5, TimeUnit.SECONDS).getStatus());
            assertEquals(200, second.get(5, TimeUnit.SECONDS).getStatus());
            assertTrue(System.nanoTime() - queuedAt > Duration.ofMillis(300).toNanos(), "the second waited for the first");
        }
        assertEquals(1, a.maxConcurrent.get(), "never more than max_conns at the backend");
        assertEquals(1, cluster.queueWaits());
        assertEquals(1, cluster.queueRejections());
        awaitIdle(lb);
    }

    /**
     * A player that gave up (an HTTP/2 stream cancelled) while its request waited leaves the line at
     * once, and takes no backend slot when one frees.
     */
    @Test
    void anHttp2RequestCancelledWhileQueuedNeverReachesTheBackend() throws Exception {
        TestBackend a = startBackend("a");
        a.delayMs.set(2000);
        LoadBalancer lb = oneSlot(a, "round_robin", 4, Duration.ofSeconds(3));
        Cluster cluster = TestBalancer.only(lb);
        HTTP2Client h2 = new HTTP2Client();
        h2.start();
        toClose.add(h2::stop);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<ContentResponse> first = takeTheSlot(pool, lb, a);
            Session session = h2.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()), new Session.Listener() {})
                    .get(5, TimeUnit.SECONDS);
            MetaData.Request request = new MetaData.Request("GET", HttpURI.from("http://127.0.0.1:" + lb.proxyPort() + "/"),
                    HttpVersion.HTTP_2, HttpFields.EMPTY);
            Stream stream = session.newStream(new HeadersFrame(request, null, true), new Stream.Listener() {}).get(5, TimeUnit.SECONDS);
            await("the HTTP/2 request queued", Duration.ofSeconds(2), () -> cluster.queued() == 1);
            stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
            await("the cancelled request out of the queue", Duration.ofSeconds(1), () -> cluster.queued() == 0);
            assertFalse(first.isDone(), "the queue emptied only because the slot freed");
            assertEquals(200, first.get(5, TimeUnit.SECONDS).getStatus());
            awaitIdle(lb);
        }
        assertEquals(1, a.hits.get(), "the cancelled request was forwarded");
    }

    @Test
    void aQueuedRequestGives503AfterTheQueueTimeout() throws Exception {
        TestBackend a = startBackend("a");
        a.delayMs.set(1500);
        LoadBalancer lb = oneSlot(a, "least_connections", 10, Duration.ofMillis(200));
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<ContentResponse> first = takeTheSlot(pool, lb, a);
            long start = System.nanoTime();
            ContentResponse waited = get(lb, "/");
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertEquals(503, waited.getStatus());
            assertTrue(ms >= 180 && ms < 1200, "503 after the 200 ms queue timeout, took " + ms);
            assertEquals(200, first.get(5, TimeUnit.SECONDS).getStatus());
        }
        assertEquals(1, TestBalancer.only(lb).queueTimeouts());
        awaitIdle(lb);
    }

    /** The last backend drained while requests wait for its slot: they get their 503 then, as a new request would. */
    @Test
    void queuedRequestsGiveUpWhenNoBackendIsReadyAnyMore() throws Exception {
        TestBackend a = startBackend("a");
        a.delayMs.set(1500);
        LoadBalancer lb = oneSlot(a, "round_robin", 4, Duration.ofSeconds(4));
        Cluster cluster = TestBalancer.only(lb);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<ContentResponse> first = takeTheSlot(pool, lb, a);
            List<Future<ContentResponse>> queued = List.of(pool.submit(() -> get(lb, "/")), pool.submit(() -> get(lb, "/")));
            await("two queued", Duration.ofSeconds(2), () -> cluster.queued() == 2);
            long start = System.nanoTime();
            backend(lb, a).setState(BackendState.DRAINING);
            for (Future<ContentResponse> f : queued) {
                assertEquals(503, f.get(5, TimeUnit.SECONDS).getStatus());
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms < 1000, "503 once the backend drained, not at the 4 s queue timeout: " + ms + " ms");
            assertEquals(200, first.get(5, TimeUnit.SECONDS).getStatus(), "the request in flight finishes");
        }
        assertEquals(0, cluster.queueTimeouts(), "no wait timed out");
        awaitIdle(lb);
    }

    @Test
    void aRetryNeverGoesBackToABackendItFailedOn() throws Exception {
        // Two dead backends of three, ejection off: each retry must try the one not tried yet.
        TestBackend alive = startBackend("alive");
        for (String algorithm : List.of("round_robin", "p2c_ewma", "least_connections", "consistent_hash")) {
            LoadBalancer lb = balancer(Duration.ofSeconds(5), cluster(algorithm, pool(2, 100, Duration.ofSeconds(5), 0, Duration.ofSeconds(10)),
                    "http://127.0.0.1:" + TestBackend.refusingPort(), "http://127.0.0.1:" + TestBackend.refusingPort(), alive.url()));
            for (int i = 0; i < 30; i++) {
                ContentResponse r = client.newRequest("127.0.0.1", lb.proxyPort()).path("/").headers(h -> h.put("X-User", "u"))
                        .timeout(5, TimeUnit.SECONDS).send();
                assertEquals(200, r.getStatus(), algorithm + ", request " + i + ": " + r.getContentAsString());
            }
            lb.stop();
        }
    }

    @Test
    void theLastAvailableBackendIsNotEjectedSoItsRestartCostsOnlyTheRestart() throws Exception {
        TestBackend only = startBackend("only");
        LoadBalancer lb = balancer(Duration.ofSeconds(5), cluster("round_robin", pool(2, 100, Duration.ofSeconds(5), 2, Duration.ofSeconds(30)),
                only.url()));
        only.stop();
        for (int i = 0; i < 4; i++) {
            assertEquals(502, get(lb, "/").getStatus());
        }
        Backend b = backend(lb, only);
        assertEquals(BackendState.UP, b.state(), "not ejected: there is no other backend to send its requests to");
        assertEquals(0, b.ejections());
        only.restart();
        assertEquals("only", get(lb, "/").getContentAsString(), "served as soon as it is back, not after a 30 s ejection");

        // With another backend available, ejection works as before.
        TestBackend other = startBackend("other");
        LoadBalancer two = balancer(Duration.ofSeconds(5), cluster("round_robin", pool(2, 100, Duration.ofSeconds(5), 2, Duration.ofSeconds(30)),
                only.url(), other.url()));
        only.stop();
        for (int i = 0; i < 6; i++) {
            assertEquals("other", get(two, "/").getContentAsString());
        }
        assertEquals(BackendState.DOWN, backend(two, only).state());
        assertEquals(1, backend(two, only).ejections());
    }

    @Test
    void inFlightCountsReturnToZeroAfterEveryKindOfFailure() throws Exception {
        TestBackend a = startBackend("a");
        int deadPort = TestBackend.refusingPort();
        LoadBalancer lb = balancer(Duration.ofMillis(300),
                cluster("round_robin", pool(2, 100, Duration.ofSeconds(5), 0, Duration.ofSeconds(10)),
                        a.url(), "http://127.0.0.1:" + deadPort));
        Backend live = backend(lb, a);
        Backend dead = TestBalancer.only(lb).find("127.0.0.1:" + deadPort);

        // Connection refused: retried on the live backend, whatever the method, body included.
        for (int i = 0; i < 4; i++) {
            assertEquals("a", get(lb, "/").getContentAsString());
            ContentResponse post = client.newRequest("127.0.0.1", lb.proxyPort()).method(HttpMethod.POST).path("/echo")
                    .body(new StringRequestContent("text/plain", "payload-" + i)).timeout(5, TimeUnit.SECONDS).send();
            assertEquals(200, post.getStatus());
            assertEquals("a:payload-" + i, post.getContentAsString());
        }
        assertTrue(dead.failures() >= 4 && dead.retries() >= 4, "refusals counted: " + dead.failures());
        awaitIdle(lb);

        // Too slow: 504, not retried.
        a.delayMs.set(2000);
        for (int i = 0; i < 2; i++) {
            assertEquals(504, get(lb, "/").getStatus());
        }
        a.delayMs.set(0);
        awaitIdle(lb);
        long liveFailures = live.failures();
        assertEquals(2, liveFailures);

        // The backend cuts the connection mid-body: the client must not get a complete-looking answer.
        // Either its connection is cut too (Jetty's client then fails the exchange: 1,000 of 100,000
        // bytes), or, when the cut came before the proxy had sent anything, it gets a 502.
        for (int i = 0; i < 2; i++) {
            ContentResponse r;
            try {
                r = get(lb, "/reset");
            } catch (ExecutionException cut) {
                continue;
            }
            assertEquals(502, r.getStatus(), "a cut backend answer ended cleanly for the client");
        }
        awaitIdle(lb);
        assertEquals(liveFailures + 2, live.failures(), "each cut in the middle of a body is the backend's failure, once");
        liveFailures = live.failures();

        awaitIdle(lb);
        // The client hangs up mid-download, and while waiting for the answer.
        for (int i = 0; i < 2; i++) {
            CountDownLatch firstBytes = new CountDownLatch(1);
            var request = client.newRequest("127.0.0.1", lb.proxyPort()).path("/big").timeout(10, TimeUnit.SECONDS);
            request.onResponseContent((response, content) -> firstBytes.countDown());
            request.send(result -> {});
            assertTrue(firstBytes.await(5, TimeUnit.SECONDS));
            request.abort(new Exception("client hangs up"));
        }
        awaitIdle(lb);
        a.delayMs.set(250);
        for (int i = 0; i < 2; i++) {
            var request = client.newRequest("127.0.0.1", lb.proxyPort()).path("/").timeout(10, TimeUnit.SECONDS);
            request.send(result -> {});
            await("request at the backend", Duration.ofSeconds(2), () -> a.concurrent.get() > 0);
            request.abort(new Exception("client gives up"));
        }
        a.delayMs.set(0);

        awaitIdle(lb);
        // The client's upload breaks off.
        for (int i = 0; i < 2; i++) {
            AsyncRequestContent body = new AsyncRequestContent();
            var request = client.newRequest("127.0.0.1", lb.proxyPort()).method(HttpMethod.POST).path("/echo")
                    .headers(h -> h.put("Content-Length", "100000")).body(body).timeout(10, TimeUnit.SECONDS);
            CountDownLatch done = new CountDownLatch(1);
            request.send(result -> done.countDown());
            body.write(ByteBuffer.wrap("partial".getBytes(StandardCharsets.UTF_8)), org.eclipse.jetty.util.Callback.NOOP);
            await("upload reached the backend", Duration.ofSeconds(5), () -> a.concurrent.get() > 0 || live.inflight() > 0);
            request.abort(new Exception("client upload breaks"));
            assertTrue(done.await(5, TimeUnit.SECONDS));
        }

        awaitIdle(lb);
        assertEquals(liveFailures, live.failures(), "client hang-ups are not the backend's failures");
        assertEquals(0, dead.inflight());
        assertEquals(200, get(lb, "/").getStatus());
    }

    /**
     * A player that seeks cancels its HTTP/2 stream: the backend request ends then, not when the
     * backend answers, and nothing counts as an error (no 502 in the metrics, no backend error).
     */
    @Test
    void anHttp2StreamCancelledByTheClientFreesTheBackendAtOnce() throws Exception {
        TestBackend a = startBackend("a");
        LoadBalancer lb = balancer(Duration.ofSeconds(30), cluster("round_robin", PoolSettings.defaults(), a.url()));
        List<Exchange> reports = new CopyOnWriteArrayList<>();
        lb.setExchangeListener(reports::add);
        Backend live = backend(lb, a);
        HttpClient h2 = new HttpClient(new org.eclipse.jetty.http2.client.transport.HttpClientTransportOverHTTP2(
                new org.eclipse.jetty.http2.client.HTTP2Client()));
        h2.start();
        try {
            a.delayMs.set(10_000);
            var request = h2.newRequest("127.0.0.1", lb.proxyPort()).path("/").timeout(20, TimeUnit.SECONDS);
            request.send(result -> {});
            await("request at the backend", Duration.ofSeconds(5), () -> live.inflight() == 1);
            request.abort(new Exception("the player seeks"));
            // The backend answers after 10 s: freed within 3 s means the cancel reached it.
            await("backend freed", Duration.ofSeconds(3), () -> live.inflight() == 0);
            assertEquals(0, live.failures(), "a client that cancels is not the backend's failure");
            assertClientLeft(reports, live);
        } finally {
            a.delayMs.set(0);
            h2.stop();
        }
    }

    /** An upload whose client hangs up halfway was logged as a 400 for a malformed body, complete. */
    @Test
    void anUploadWhoseClientHangsUpIsTheClientsEndNotA400() throws Exception {
        TestBackend a = startBackend("a");
        LoadBalancer lb = balancer(Duration.ofSeconds(30), cluster("round_robin", PoolSettings.defaults(), a.url()));
        List<Exchange> reports = new CopyOnWriteArrayList<>();
        lb.setExchangeListener(reports::add);
        Backend live = backend(lb, a);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", lb.proxyPort())) {
            s.getOutputStream().write(("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().write(new byte[100_000]);
            s.getOutputStream().flush();
            await("upload at the backend", Duration.ofSeconds(5), () -> live.inflight() == 1);
        }
        await("backend freed", Duration.ofSeconds(5), () -> live.inflight() == 0);
        assertClientLeft(reports, live);
    }

    private static void assertClientLeft(List<Exchange> reports, Backend live) throws InterruptedException {
        await("the exchange reported", Duration.ofSeconds(5), () -> !reports.isEmpty());
        Exchange e = reports.getFirst();
        assertEquals(0, e.status(), "no answer reached the client: " + e);
        assertEquals(Exchange.End.CLIENT, e.end());
        assertFalse(e.backendFailure());
        assertNull(live.lastError(), "the backend did nothing wrong");
    }

    @Test
    void retriesAreBoundedAndCounted() throws Exception {
        int[] deadPorts = new int[3];
        for (int i = 0; i < deadPorts.length; i++) {
            deadPorts[i] = TestBackend.refusingPort();
        }
        AtomicInteger maxRetries = new AtomicInteger(-1);
        LoadBalancer lb = TestBalancer.start(Duration.ofSeconds(2), cluster("round_robin",
                pool(1, 100, Duration.ofSeconds(5), 0, Duration.ofSeconds(10)),
                "http://127.0.0.1:" + deadPorts[0], "http://127.0.0.1:" + deadPorts[1], "http://127.0.0.1:" + deadPorts[2]));
        toClose.add(lb::stop);
        AtomicInteger exchanges = new AtomicInteger();
        lb.setExchangeListener(e -> {
            exchanges.incrementAndGet();
            maxRetries.accumulateAndGet(e.retries(), Math::max);
        });
        // A client of its own: no pooled connection left from another test's balancer on a reused port.
        HttpClient own = new HttpClient();
        own.start();
        toClose.add(own::stop);
        ContentResponse r = own.newRequest("127.0.0.1", lb.proxyPort()).path("/").timeout(10, TimeUnit.SECONDS).send();
        assertEquals(502, r.getStatus());
        await("exchange reported", Duration.ofSeconds(2), () -> exchanges.get() == 1);
        long tried = TestBalancer.only(lb).backends().stream().mapToLong(Backend::requests).sum();
        assertEquals(2, tried, "one try and one retry (LB_RETRIES=1); per backend: "
                + TestBalancer.only(lb).backends().stream().map(b -> b.address() + "=" + b.requests()).toList()
                + ", exchanges: " + exchanges.get());
        await("exchange reported", Duration.ofSeconds(2), () -> maxRetries.get() == 1);
        awaitIdle(lb);
    }
}
