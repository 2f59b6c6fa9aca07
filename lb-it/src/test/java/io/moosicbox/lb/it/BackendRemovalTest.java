package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Taking a backend out of rotation under continuous keep-alive load, on the real process: drained
 * through the admin API, or removed from the configuration file and reloaded. No request fails,
 * the requests it has finish, and it takes no new one.
 */
class BackendRemovalTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void drainingABackendUnderLoadLosesNothing() throws Exception {
        try (TestBackend a = new TestBackend("a"); TestBackend b = new TestBackend("b");
                LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", a.url() + "," + b.url()))) {
            HttpClient client = startClient();
            try (LoadClient load = new LoadClient(client, lb.proxyUrl(), 8, 30_000, "/", "/", "/slow?ms=200")) {
                load.awaitCompleted(100, 15_000);
                Await.until("slow requests in flight on a", () -> a.slowInProgress.get() > 0);

                Curl.Reply drain = Curl.run("-X", "POST", lb.adminUrl() + "/api/backends/127.0.0.1:" + a.port() + "/drain");
                assertEquals(200, drain.status(), drain.body());
                Await.until("a DRAINED once its requests finished", () -> "DRAINED".equals(state(lb, a)));
                // DRAINED: the balancer has no request on it, not even one on its way there.
                String report = assertTakenOutLosesNothing("drain", load, a);
                assertTrue(b.seenIds.size() > 100, report);
            } finally {
                client.stop();
            }
        }
    }

    @Test
    void reloadRemovingABackendUnderLoadLosesNothing() throws Exception {
        try (TestBackend a = new TestBackend("a"); TestBackend b = new TestBackend("b")) {
            Path file = dir.resolve("lb.yaml");
            Files.writeString(file, clusterOf(a.url() + ", " + b.url()));
            try (LbProcess lb = LbProcess.start(Map.of(), "--config", file.toString())) {
                HttpClient client = startClient();
                try (LoadClient load = new LoadClient(client, lb.proxyUrl(), 8, 30_000, "/", "/", "/slow?ms=200")) {
                    load.awaitCompleted(100, 15_000);
                    Await.until("slow requests in flight on a", () -> a.slowInProgress.get() > 0);

                    Files.writeString(file, clusterOf(b.url()));
                    Curl.Reply reload = Curl.run("-X", "POST", lb.adminUrl() + "/api/reload");
                    assertEquals(200, reload.status(), reload.body());
                    assertTrue(JSON.readTree(reload.body()).get("applied").asBoolean(), reload.body());
                    // The removed backend is no longer listed; the requests leased to it before the swap
                    // finish, then none arrives: wait until it has been quiet a while under load.
                    Await.until("a's last requests finished", () -> a.slowInProgress.get() == 0);
                    awaitQuiet(a, 500);
                    assertTakenOutLosesNothing("reload", load, a);
                    assertTrue(lb.stderr().contains("backend 127.0.0.1:" + a.port() + " left cluster default: draining"), lb.stderr());
                } finally {
                    client.stop();
                }
            }
        }
    }

    /**
     * Once {@code out} is out of rotation (drained, or removed and quiet): 100 more requests all
     * succeed, none sent again, and {@code out} takes none of them.
     *
     * @return the load's summary, for further assertions
     */
    private static String assertTakenOutLosesNothing(String what, LoadClient load, TestBackend out) throws Exception {
        int atOut = out.seenIds.size();
        load.awaitCompleted(load.completed.sum() + 100, 15_000);
        load.close();
        String report = what + ": " + load.summary() + ", the backend taken out served " + atOut + " of them";
        System.out.println(report);
        assertEquals(0, load.failed.sum(), report);
        assertEquals(0, load.retried.sum(), "no connection of the clients closed: " + report);
        assertEquals(atOut, out.seenIds.size(), "the backend taken out took no request: " + report);
        return report;
    }

    private static String clusterOf(String backends) {
        return """
                clusters:
                  - name: default
                    hosts: ["*"]
                    backends: [%s]
                """.formatted(backends);
    }

    private static HttpClient startClient() throws Exception {
        HttpClient client = new HttpClient();
        client.setMaxConnectionsPerDestination(8);
        client.start();
        return client;
    }

    private static String state(LbProcess lb, TestBackend backend) {
        try {
            Curl.Reply r = Curl.run(lb.adminUrl() + "/api/backends");
            for (JsonNode node : JSON.readTree(r.body())) {
                if (node.get("address").asText().equals("127.0.0.1:" + backend.port())) {
                    return node.get("state").asText();
                }
            }
            return null;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits until the backend has taken no proxied request for {@code quietMillis}. */
    private static void awaitQuiet(TestBackend backend, long quietMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        int last = backend.seenIds.size();
        long since = System.nanoTime();
        while (System.nanoTime() - since < TimeUnit.MILLISECONDS.toNanos(quietMillis)) {
            assertTrue(System.nanoTime() < deadline, "the removed backend kept receiving requests: " + backend.seenIds.size());
            Thread.sleep(20);
            int now = backend.seenIds.size();
            if (now != last) {
                last = now;
                since = System.nanoTime();
            }
        }
    }

}
