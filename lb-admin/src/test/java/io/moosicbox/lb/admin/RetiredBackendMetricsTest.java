package io.moosicbox.lb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.server.LoadBalancer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A backend's metrics series end once it has left the topology for good, not at a restart. */
class RetiredBackendMetricsTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private TestBackend one;
    private TestBackend two;
    private LoadBalancer lb;

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        if (one != null) {
            one.close();
        }
        if (two != null) {
            two.close();
        }
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String metrics() throws Exception {
        return get(lb.adminPort(), "/metrics").body();
    }

    private static List<String> seriesOf(String metrics, String backend) {
        return metrics.lines().filter(l -> !l.startsWith("#") && l.contains("backend=\"" + backend + "\"")).toList();
    }

    @Test
    void seriesOfABackendAReloadTookOutEndOnceItDrained() throws Exception {
        one = new TestBackend("one");
        two = new TestBackend("two");
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "SHUTDOWN_TIMEOUT", "1s",
                "BACKEND_SERVERS", "http://" + one.address() + ",http://" + two.address())));
        AdminApi.install(lb);
        lb.start();
        for (int i = 0; i < 4; i++) {
            assertEquals(200, get(lb.proxyPort(), "/").statusCode());
        }
        // Round robin: the next request lands on the first backend and stays there until released.
        CompletableFuture<HttpResponse<String>> held = http.sendAsync(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + lb.proxyPort() + "/hold")).build(), HttpResponse.BodyHandlers.ofString());
        await("a request in flight on the first backend", () -> lb.clusters().get(0).backends().get(0).inflight() == 1);

        LbConfig running = lb.config();
        ClusterConfig c = running.clusters().getFirst();
        ClusterConfig onlyTwo = new ClusterConfig(c.name(), c.hosts(), c.paths(), c.algorithm(), c.healthCheck(),
                List.of(BackendSpec.parse("http://" + two.address())), c.pool());
        LbConfig next = new LbConfig(running.listeners(), running.tls(), List.of(onlyTwo), running.timeouts(),
                running.shutdown(), running.admin(), running.logLevel(), running.accessLog(), running.websocket());
        lb.setConfigSource(() -> next);
        assertEquals(200, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.adminPort() + "/api/reload"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode());

        // While it drains it is listed, and so are its series, with its request in flight.
        String draining = metrics();
        String labels = "{backend=\"" + one.address() + "\",cluster=\"default\"";
        assertTrue(draining.contains("moosicbox_lb_requests_total" + labels + ",code=\"2xx\",method=\"GET\"} 2"), draining);
        assertTrue(draining.contains("moosicbox_lb_backend_inflight" + labels + "} 1"), draining);
        assertTrue(draining.contains("moosicbox_lb_backend_state" + labels + ",state=\"DRAINING\"} 1"), draining);

        one.release();
        assertEquals(200, held.get().statusCode());
        await("the retired backend gone from the admin API", () -> get(lb.adminPort(), "/api/backends/" + one.address()).statusCode() == 404);
        // A report may land just after the drain and bind its series once more; the scrape after ends it.
        await("no series for the retired backend", () -> seriesOf(metrics(), one.address()).isEmpty());

        String after = metrics();
        assertFalse(seriesOf(after, two.address()).isEmpty(), after);
        assertTrue(after.contains("moosicbox_lb_request_duration_seconds_count{backend=\"" + two.address() + "\",cluster=\"default\"} 2"), after);
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void await(String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
