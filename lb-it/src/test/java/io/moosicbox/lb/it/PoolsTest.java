package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.Test;

/** Backend pools set up from environment variables only, as a MoosicBox user would. */
class PoolsTest {

    @Test
    void weightedRoundRobinWithADeadBackendRetriesEjectsAndKeepsTheWeights() throws Exception {
        int deadPort = Ports.refusing();
        HttpClient client = new HttpClient();
        try (TestBackend a = new TestBackend("a");
             TestBackend b = new TestBackend("b");
             LbProcess lb = LbProcess.start(Map.of(
                     "BACKEND_SERVERS", a.url() + " weight=3," + b.url() + ",http://127.0.0.1:" + deadPort,
                     "LB_ALGORITHM", "weighted_round_robin",
                     "LB_EJECT_AFTER", "1",
                     "LB_EJECT_TIME", "1m"))) {
            client.start();
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < 40; i++) {
                ContentResponse r = client.GET(lb.proxyUrl() + "/");
                assertEquals(200, r.getStatus(), "the dead backend's requests went to another: " + r.getContentAsString());
                counts.merge(r.getContentAsString().trim(), 1, Integer::sum);
            }
            assertEquals(40, counts.getOrDefault("a", 0) + counts.getOrDefault("b", 0), counts.toString());
            assertTrue(counts.get("a") >= 2 * counts.get("b") && counts.get("b") >= 8, "about 3:1: " + counts);
        } finally {
            client.stop();
        }
    }

    @Test
    void badPoolVariablesAreNamedAndExitTwo() throws Exception {
        Http.Result r = Http.run("env", "BACKEND_SERVERS=127.0.0.1:8001", "LB_HASH_KEY=url", "HEALTH_CHECK_RISE=zero",
                LbProcess.launcher().toString(), "--check");
        assertEquals(2, r.exitCode(), r.stdout() + r.stderr());
        assertTrue(r.stderr().contains("LB_HASH_KEY=\"url\"") && r.stderr().contains("HEALTH_CHECK_RISE=\"zero\""), r.stderr());
    }
}
