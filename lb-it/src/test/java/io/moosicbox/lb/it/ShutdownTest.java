package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.HttpClientTransportOverHTTP2;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SIGTERM under continuous keep-alive load with slow requests in flight: nothing accepted fails,
 * the process exits 0 within the shutdown timeout, and new connections are refused.
 */
class ShutdownTest {
    private static TestBackend a;
    private static TestBackend b;

    @BeforeAll
    static void backends() throws Exception {
        a = new TestBackend("a");
        b = new TestBackend("b");
    }

    @AfterAll
    static void stopBackends() throws Exception {
        a.close();
        b.close();
    }

    /**
     * HTTP/1.1: one client, a pool of 8 keep-alive connections. HTTP/2 (h2c, prior knowledge):
     * one Jetty client per sender, as one shared client closes a connection after GOAWAY and
     * aborts every exchange on it (jetty issue 15368).
     */
    @ParameterizedTest
    @ValueSource(strings = {"HTTP/1.1", "HTTP/2"})
    void sigtermUnderLoadLosesNothing(String protocol) throws Exception {
        boolean h2 = protocol.equals("HTTP/2");
        List<HttpClient> clients = new ArrayList<>();
        for (int i = 0; i < (h2 ? 11 : 1); i++) {
            HttpClient c = h2 ? new HttpClient(new HttpClientTransportOverHTTP2(new HTTP2Client())) : new HttpClient();
            c.setMaxConnectionsPerDestination(8);
            c.start();
            clients.add(c);
        }
        try (LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", a.url() + "," + b.url(),
                "SHUTDOWN_TIMEOUT", "10s"))) {
            LoadClient load = new LoadClient(t -> clients.get(t % clients.size()), lb.proxyUrl(), 8, 30_000, "/", "/?after=slow", "/");
            load.awaitCompleted(300, 15_000);
            List<CompletableFuture<ContentResponse>> slow = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                HttpClient client = clients.get((8 + i) % clients.size());
                slow.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return client.newRequest(lb.proxyUrl() + "/slow?ms=3000").timeout(30, TimeUnit.SECONDS).send();
                    } catch (Exception e) {
                        throw new CompletionException(e);
                    }
                }, Executors.newVirtualThreadPerTaskExecutor()));
            }
            long arriveBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.slowInProgress.get() + b.slowInProgress.get() < 3 && System.nanoTime() < arriveBy) {
                Thread.sleep(5);
            }
            long termAt = System.nanoTime();
            lb.signal("TERM");
            int exit = lb.awaitExit(Duration.ofSeconds(20));
            long exitMs = (System.nanoTime() - termAt) / 1_000_000;
            load.close();

            String report = protocol + ": " + load.summary() + ", SIGTERM to exit " + exitMs + " ms";
            System.out.println(report);
            assertEquals(0, exit, report + "\n" + lb.stderr());
            assertEquals(0, load.failed.sum(), report);
            List<String> lost = load.retriedIds.entrySet().stream()
                    .filter(e -> a.seenIds.contains(e.getKey()) || b.seenIds.contains(e.getKey()))
                    .map(e -> e.getKey() + " " + e.getValue()).toList();
            // A request sent on a connection as it closes may fail at the client, which then sends it again;
            // one that reached a backend must never fail.
            System.out.println("reached a backend yet failed at the client: " + lost);
            assertEquals(List.of(), lost, "requests that reached a backend yet failed at the client: " + report);
            for (CompletableFuture<ContentResponse> f : slow) {
                assertEquals(200, f.get(5, TimeUnit.SECONDS).getStatus(), "a slow request in flight finished: " + report);
            }
            assertTrue(exitMs >= 2000 && exitMs < 10_000, "waited for the slow requests, within the timeout: " + report);
            assertTrue(load.completed.sum() >= 100, report);
            assertTrue(load.refused.sum() > 0, "new connections are refused once the listener closes: " + report);
            assertTrue(lb.stderr().contains("nothing cut"), lb.stderr());
        } finally {
            for (HttpClient c : clients) {
                c.stop();
            }
        }
    }

    @Test
    void secondSigtermCutsTheDrainAtOnce() throws Exception {
        HttpClient client = new HttpClient();
        client.start();
        try (LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", a.url(), "SHUTDOWN_TIMEOUT", "30s"))) {
            CompletableFuture<ContentResponse> slow = slowRequestInFlight(client, lb);
            lb.signal("TERM");
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!lb.stderr().contains("phase 2/3 (drain)") && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            long secondAt = System.nanoTime();
            lb.signal("TERM");
            int exit = lb.awaitExit(Duration.ofSeconds(10));
            long exitMs = (System.nanoTime() - secondAt) / 1_000_000;
            assertEquals(1, exit, lb.stderr());
            assertTrue(exitMs < 3000, "second SIGTERM to exit " + exitMs + " ms");
            assertTrue(lb.stderr().contains("received again: stopping now, 1 requests cut"), lb.stderr());
            assertThrows(ExecutionException.class, () -> slow.get(10, TimeUnit.SECONDS), "the cut request fails at the client");
        } finally {
            client.stop();
        }
    }

    /**
     * A shell script's background job ({@code moosicbox_lb &}) starts with SIGINT ignored, and the
     * JVM keeps it so: {@code kill -INT} did nothing, and nothing said so. The start warns, and
     * SIGTERM still stops it gracefully.
     */
    @Test
    void aStopSignalIgnoredAtStartIsWarnedAbout() throws Exception {
        try (LbProcess lb = LbProcess.launch(List.of("sh", "-c", "trap '' INT; exec \"$@\"", "sh"), Map.of("BACKEND_SERVERS", a.url()))) {
            lb.awaitListening(Duration.ofSeconds(30));
            // Logged before the listeners start.
            String log = lb.stderr() + lb.stdout();
            assertTrue(log.contains("SIGINT was ignored by whatever started the balancer (a background job of a shell script?)"
                    + " and will not stop it: use SIGTERM"), log);
            assertFalse(log.contains("SIGTERM was ignored"), log);
            lb.signal("INT");
            Thread.sleep(500);
            assertTrue(lb.process().isAlive(), "SIGINT is ignored, as warned");
            assertEquals(0, lb.terminate(Duration.ofSeconds(20)), lb.stderr());
        }
    }

    /** Server.stop() used to run a second graceful phase after a timed-out drain: twice the timeout. */
    @Test
    void theTimeoutCutsWhatIsLeftAndExitsOnce() throws Exception {
        HttpClient client = new HttpClient();
        client.start();
        try (LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", a.url(), "SHUTDOWN_TIMEOUT", "2s"))) {
            CompletableFuture<ContentResponse> slow = slowRequestInFlight(client, lb);
            long termAt = System.nanoTime();
            lb.signal("TERM");
            int exit = lb.awaitExit(Duration.ofSeconds(15));
            long exitMs = (System.nanoTime() - termAt) / 1_000_000;
            assertEquals(0, exit, lb.stderr());
            assertTrue(exitMs >= 2000 && exitMs < 5000, "SIGTERM to exit " + exitMs + " ms with a 2 s timeout");
            assertTrue(lb.stderr().contains("timeout of 2000 ms reached; cutting 1 requests in flight"), lb.stderr());
            // Cut before its response began: Jetty answers 500 as the proxy context stops, or the connection closes.
            try {
                int status = slow.get(10, TimeUnit.SECONDS).getStatus();
                assertTrue(status >= 500, "the cut request got " + status);
            } catch (ExecutionException expected) {
                // closed without an answer
            }
        } finally {
            client.stop();
        }
    }

    /** Sends an 8 s request through the balancer and returns once backend a is answering it. */
    private static CompletableFuture<ContentResponse> slowRequestInFlight(HttpClient client, LbProcess lb)
            throws InterruptedException {
        int before = a.slowRequests.get();
        CompletableFuture<ContentResponse> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return client.newRequest(lb.proxyUrl() + "/slow?ms=8000").timeout(30, TimeUnit.SECONDS).send();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        }, Executors.newVirtualThreadPerTaskExecutor());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (a.slowRequests.get() == before && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        return slow;
    }
}
