package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An operator drains a backend with curl and watches it in /api/backends and /metrics. */
class AdminCurlTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String address(TestBackend b) {
        return "127.0.0.1:" + b.port();
    }

    private static JsonNode backend(LbProcess lb, String address) throws Exception {
        Curl.Reply r = Curl.run(lb.adminUrl() + "/api/backends");
        assertEquals(200, r.status(), r.body());
        for (JsonNode b : JSON.readTree(r.body())) {
            if (b.get("address").asText().equals(address)) {
                return b;
            }
        }
        throw new AssertionError(address + " is not in " + r.body());
    }

    @Test
    void drainFromCurlShowsInApiAndMetrics() throws Exception {
        try (TestBackend one = new TestBackend("one"); TestBackend two = new TestBackend("two");
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", "http://" + address(one) + ",http://" + address(two)))) {
            for (int i = 0; i < 4; i++) {
                assertEquals(200, Curl.run(lb.proxyUrl() + "/").status());
            }
            Curl.Reply drain = Curl.run("-X", "POST", lb.adminUrl() + "/api/backends/" + address(one) + "/drain");
            assertEquals(200, drain.status(), drain.body());
            assertEquals("UP", JSON.readTree(drain.body()).get("previous_state").asText());
            // Nothing was in flight: the drain is over at once.
            assertEquals("DRAINED", backend(lb, address(one)).get("state").asText());
            for (int i = 0; i < 4; i++) {
                assertEquals("two", Curl.run(lb.proxyUrl() + "/").body().strip());
            }
            Curl.Reply metrics = Curl.run(lb.adminUrl() + "/metrics");
            assertEquals(200, metrics.status());
            String m = metrics.body();
            assertTrue(m.contains("moosicbox_lb_backend_state{backend=\"" + address(one) + "\",cluster=\"default\",state=\"DRAINED\"} 1"), m);
            assertTrue(m.contains("moosicbox_lb_backend_up{backend=\"" + address(one) + "\",cluster=\"default\"} 0"), m);
            assertTrue(m.contains("moosicbox_lb_requests_total{backend=\"" + address(two) + "\",cluster=\"default\",code=\"2xx\",method=\"GET\"} 6"), m);
            assertTrue(m.contains("moosicbox_lb_requests_total{backend=\"" + address(one) + "\",cluster=\"default\",code=\"2xx\",method=\"GET\"} 2"), m);
            // The version bin/moosicbox_lb --version prints: which one each replica runs after a rollout.
            Process v = new ProcessBuilder(LbProcess.launcher().toString(), "--version").redirectErrorStream(true).start();
            String version = new String(v.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip()
                    .replace("moosicbox_lb ", "");
            assertTrue(v.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && v.exitValue() == 0, version);
            assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.*"), version);
            assertTrue(m.matches("(?s).*\nmoosicbox_lb_build_info\\{java=\"\\d[^\"]*\",version=\"" + java.util.regex.Pattern.quote(version) + "\"} 1(\\.0)?\n.*"), m);

            Curl.Reply enable = Curl.run("-X", "POST", lb.adminUrl() + "/api/backends/" + address(one) + "/enable");
            assertEquals(200, enable.status(), enable.body());
            Await.until("UP again", () -> {
                try {
                    return backend(lb, address(one)).get("state").asText().equals("UP");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertTrue((lb.stderr() + lb.stdout()).contains("admin: drain " + address(one) + " in cluster default by 127.0.0.1"), (lb.stderr() + lb.stdout()));

            Curl.Reply unknown = Curl.run("-X", "POST", lb.adminUrl() + "/api/backends/127.0.0.1:1/drain");
            assertEquals(404, unknown.status());
            assertTrue(JSON.readTree(unknown.body()).get("error").asText().contains("127.0.0.1:1"));
        }
    }

    @Test
    void tokenIsRequiredForChangesOnly() throws Exception {
        try (TestBackend one = new TestBackend("one");
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", "http://" + address(one), "ADMIN_TOKEN", "let-me-in"))) {
            String disable = lb.adminUrl() + "/api/backends/" + address(one) + "/disable";
            Curl.Reply none = Curl.run("-X", "POST", disable);
            assertEquals(401, none.status(), none.body());
            assertTrue(JSON.readTree(none.body()).get("error").asText().contains("Bearer"));
            assertEquals(403, Curl.run("-X", "POST", "-H", "Authorization: Bearer nope", disable).status());
            assertEquals(401, Curl.run("-X", "POST", lb.adminUrl() + "/api/reload").status());
            assertEquals("UP", backend(lb, address(one)).get("state").asText());
            assertEquals(200, Curl.run(lb.adminUrl() + "/metrics").status());
            assertEquals(200, Curl.run(lb.adminUrl() + "/api/clusters").status());
            Curl.Reply ok = Curl.run("-X", "POST", "-H", "Authorization: Bearer let-me-in", disable);
            assertEquals(200, ok.status(), ok.body());
            assertEquals("DISABLED", backend(lb, address(one)).get("state").asText());
            assertEquals(503, Curl.run(lb.proxyUrl() + "/").status());
            assertTrue((lb.stderr() + lb.stdout()).contains("with the admin token"), (lb.stderr() + lb.stdout()));
            assertTrue(!(lb.stderr() + lb.stdout()).contains("let-me-in"), "the token must never be logged");
        }
    }
}
