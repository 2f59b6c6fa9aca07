package io.moosicbox.lb.it.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** An operator drains a backend with curl and watches it in /api/backends and /metrics. */
class AdminCurlTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode backend(AdminDist lb, String address) throws Exception {
        Curl.Reply r = Curl.run(lb.admin() + "/api/backends");
        assertEquals(200, r.status(), r.body());
        for (JsonNode b : JSON.readTree(r.body())) {
            if (b.get("address").asText().equals(address)) {
                return b;
            }
        }
        throw new AssertionError(address + " is not in " + r.body());
    }

    private static void await(String what, Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void drainFromCurlShowsInApiAndMetrics() throws Exception {
        try (ItBackend one = new ItBackend("one"); ItBackend two = new ItBackend("two");
             AdminDist lb = new AdminDist(Map.of("BACKEND_SERVERS", "http://" + one.address() + ",http://" + two.address()))) {
            for (int i = 0; i < 4; i++) {
                assertEquals(200, Curl.run(lb.proxy() + "/").status());
            }
            Curl.Reply drain = Curl.run("-X", "POST", lb.admin() + "/api/backends/" + one.address() + "/drain");
            assertEquals(200, drain.status(), drain.body());
            assertEquals("UP", JSON.readTree(drain.body()).get("previous_state").asText());
            // Nothing was in flight: the drain is over at once.
            assertEquals("DRAINED", backend(lb, one.address()).get("state").asText());
            for (int i = 0; i < 4; i++) {
                assertEquals("two", Curl.run(lb.proxy() + "/").body().strip());
            }
            Curl.Reply metrics = Curl.run(lb.admin() + "/metrics");
            assertEquals(200, metrics.status());
            String m = metrics.body();
            assertTrue(m.contains("moosicbox_lb_backend_state{backend=\"" + one.address() + "\",cluster=\"default\",state=\"DRAINED\"} 1"), m);
            assertTrue(m.contains("moosicbox_lb_backend_up{backend=\"" + one.address() + "\",cluster=\"default\"} 0"), m);
            assertTrue(m.contains("moosicbox_lb_requests_total{backend=\"" + two.address() + "\",cluster=\"default\",code=\"2xx\",method=\"GET\"} 6"), m);
            assertTrue(m.contains("moosicbox_lb_requests_total{backend=\"" + one.address() + "\",cluster=\"default\",code=\"2xx\",method=\"GET\"} 2"), m);

            Curl.Reply enable = Curl.run("-X", "POST", lb.admin() + "/api/backends/" + one.address() + "/enable");
            assertEquals(200, enable.status(), enable.body());
            await("UP again", () -> {
                try {
                    return backend(lb, one.address()).get("state").asText().equals("UP");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertTrue(lb.output().contains("admin: drain " + one.address() + " in cluster default by 127.0.0.1"), lb.output());

            Curl.Reply unknown = Curl.run("-X", "POST", lb.admin() + "/api/backends/127.0.0.1:1/drain");
            assertEquals(404, unknown.status());
            assertTrue(JSON.readTree(unknown.body()).get("error").asText().contains("127.0.0.1:1"));
        }
    }

    @Test
    void tokenIsRequiredForChangesOnly() throws Exception {
        try (ItBackend one = new ItBackend("one");
             AdminDist lb = new AdminDist(Map.of("BACKEND_SERVERS", "http://" + one.address(), "ADMIN_TOKEN", "let-me-in"))) {
            String disable = lb.admin() + "/api/backends/" + one.address() + "/disable";
            Curl.Reply none = Curl.run("-X", "POST", disable);
            assertEquals(401, none.status(), none.body());
            assertTrue(JSON.readTree(none.body()).get("error").asText().contains("Bearer"));
            assertEquals(403, Curl.run("-X", "POST", "-H", "Authorization: Bearer nope", disable).status());
            assertEquals(401, Curl.run("-X", "POST", lb.admin() + "/api/reload").status());
            assertEquals("UP", backend(lb, one.address()).get("state").asText());
            assertEquals(200, Curl.run(lb.admin() + "/metrics").status());
            assertEquals(200, Curl.run(lb.admin() + "/api/clusters").status());
            Curl.Reply ok = Curl.run("-X", "POST", "-H", "Authorization: Bearer let-me-in", disable);
            assertEquals(200, ok.status(), ok.body());
            assertEquals("DISABLED", backend(lb, one.address()).get("state").asText());
            assertEquals(503, Curl.run(lb.proxy() + "/").status());
            assertTrue(lb.output().contains("with the admin token"), lb.output());
            assertTrue(!lb.output().contains("let-me-in"), "the token must never be logged");
        }
    }
}
