package io.moosicbox.lb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.ConfigException;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.server.LoadBalancer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin API against a real balancer and real backends on loopback. */
class AdminApiTest {
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

    private void start(Map<String, String> extraEnv) throws Exception {
        one = new TestBackend("one");
        two = new TestBackend("two");
        Map<String, String> env = new java.util.HashMap<>(Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                // The test client's idle keep-alive connections can hold the graceful drain open until its timeout.
                "SHUTDOWN_TIMEOUT", "1s",
                "BACKEND_SERVERS", "http://" + one.address() + ",http://" + two.address()));
        env.putAll(extraEnv);
        start(EnvConfig.load(EnvConfig.defaults(), env));
    }

    private void start(LbConfig config) throws Exception {
        lb = new LoadBalancer(config);
        AdminApi.install(lb);
        lb.start();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(admin(path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(admin(path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> proxy(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.proxyPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request that stays in flight until its backend's {@code release()}; round robin puts two on two backends. */
    private CompletableFuture<HttpResponse<String>> hold() {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.proxyPort() + "/hold")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private URI admin(String path) {
        return URI.create("http://127.0.0.1:" + lb.adminPort() + path);
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse("").split(";")[0], r.body());
        return Json.MAPPER.readTree(r.body());
    }

    private JsonNode backend(String address) throws Exception {
        for (JsonNode b : json(get("/api/backends"))) {
            if (b.get("address").asText().equals(address)) {
                return b;
            }
        }
        throw new AssertionError(address + " not in /api/backends");
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void listsBackendsAndClusters() throws Exception {
        start(Map.of());
        HttpResponse<String> r = get("/api/backends");
        assertEquals(200, r.statusCode());
        JsonNode backends = json(r);
        assertEquals(2, backends.size());
        JsonNode b = backends.get(0);
        assertEquals("default", b.get("cluster").asText());
        assertEquals(one.address(), b.get("address").asText());
        assertEquals("http://" + one.address(), b.get("url").asText());
        assertEquals("UP", b.get("state").asText());
        assertEquals(1, b.get("weight").asInt());
        assertEquals(0, b.get("inflight").asInt());
        assertTrue(b.has("max_conns") && b.has("last_check") && b.has("last_error"), b.toString());
        assertTrue(b.get("counters").has("requests") && b.get("counters").has("failures"), b.toString());

        JsonNode clusters = json(get("/api/clusters"));
        assertEquals(1, clusters.size());
        assertEquals("default", clusters.get(0).get("name").asText());
        assertEquals("[\"*\"]", clusters.get(0).get("hosts").toString());
        assertEquals("[\"/\"]", clusters.get(0).get("paths").toString());
        assertEquals("round_robin", clusters.get(0).get("algorithm").asText());
        assertEquals(2, clusters.get(0).get("backends").size());

        assertEquals(200, get("/api/backends/" + two.address()).statusCode());
        HttpResponse<String> missing = get("/api/backends/127.0.0.1:1");
        assertEquals(404, missing.statusCode());
        assertTrue(json(missing).get("error").asText().contains("127.0.0.1:1"));
    }

    @Test
    void errorsAreJson() throws Exception {
        start(Map.of());
        HttpResponse<String> unknown = get("/nope");
        assertEquals(404, unknown.statusCode());
        assertEquals(404, json(unknown).get("status").asInt());
        HttpResponse<String> getChange = get("/api/backends/" + one.address() + "/drain");
        assertEquals(405, getChange.statusCode());
        assertEquals("POST, OPTIONS", getChange.headers().firstValue("Allow").orElse(""));
        json(getChange);
        HttpResponse<String> postMetrics = post("/metrics", null);
        assertEquals(405, postMetrics.statusCode());
        assertEquals("GET, HEAD, OPTIONS", postMetrics.headers().firstValue("Allow").orElse(""));
        json(postMetrics);
        HttpResponse<String> getReload = get("/api/reload");
        assertEquals(405, getReload.statusCode());
        assertEquals("POST, OPTIONS", getReload.headers().firstValue("Allow").orElse(""));
        json(getReload);
        HttpResponse<String> postHealth = post("/health", null);
        assertEquals(405, postHealth.statusCode());
        assertEquals("GET, HEAD, OPTIONS", postHealth.headers().firstValue("Allow").orElse(""));
        json(postHealth);
        HttpResponse<String> postBackend = post("/api/backends/" + one.address(), null);
        assertEquals(405, postBackend.statusCode(), "the backend exists; only the method is wrong");
        assertEquals("GET, HEAD, OPTIONS", postBackend.headers().firstValue("Allow").orElse(""));
        json(postBackend);
        HttpResponse<String> badAction = post("/api/backends/" + one.address() + "/explode", null);
        assertEquals(404, badAction.statusCode());
        json(badAction);
        assertEquals(404, post("/api/backends/127.0.0.1:1/drain", null).statusCode());
        // TRACE would echo the request's headers, the admin token among them; PATCH was a 501.
        for (String method : List.of("TRACE", "PATCH")) {
            HttpResponse<String> odd = http.send(HttpRequest.newBuilder(admin("/api/reload")).header("Authorization", "Bearer secret")
                    .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, odd.statusCode(), method);
            assertEquals("POST, OPTIONS", odd.headers().firstValue("Allow").orElse(""), method);
            assertTrue(!odd.body().contains("secret"), odd.body());
        }
        HttpResponse<String> options = http.send(HttpRequest.newBuilder(admin("/api/reload")).header("Authorization", "Bearer secret")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, options.statusCode());
        assertEquals("POST, OPTIONS", options.headers().firstValue("Allow").orElse(""), "what OPTIONS lists is what is answered");
    }

    /**
     * Allow (RFC 9110 10.2.1) names the methods of the path asked, not of the servlet that serves
     * it: a change path takes POST only, a backend's path GET only; a path with no endpoint has none.
     */
    @Test
    void allowNamesTheMethodsOfThePath() throws Exception {
        start(Map.of());
        String drain = "/api/backends/" + one.address() + "/drain";
        for (String method : List.of("GET", "HEAD", "PUT", "DELETE", "TRACE")) {
            HttpResponse<String> wrong = send(method, drain);
            assertEquals(405, wrong.statusCode(), method);
            assertEquals("POST, OPTIONS", wrong.headers().firstValue("Allow").orElse(""), method);
        }
        Map<String, String> options = Map.of(
                drain, "POST, OPTIONS",
                "/api/backends/" + one.address(), "GET, HEAD, OPTIONS",
                "/api/backends", "GET, HEAD, OPTIONS",
                "/api/reload", "POST, OPTIONS",
                "/", "GET, HEAD, OPTIONS",
                "/dashboard.js", "GET, HEAD, OPTIONS");
        for (Map.Entry<String, String> path : options.entrySet()) {
            HttpResponse<String> answer = send("OPTIONS", path.getKey());
            assertEquals(200, answer.statusCode(), path.getKey());
            assertEquals(path.getValue(), answer.headers().firstValue("Allow").orElse(""), path.getKey());
        }
        assertEquals("GET, HEAD, OPTIONS", send("PUT", "/api/backends/" + one.address()).headers().firstValue("Allow").orElse(""));
        for (String method : List.of("OPTIONS", "PUT", "DELETE")) {
            for (String path : List.of("/nope", "/api/backends/" + one.address() + "/explode")) {
                HttpResponse<String> none = send(method, path);
                assertEquals(404, none.statusCode(), method + " " + path);
                assertEquals(404, json(none).get("status").asInt(), method + " " + path);
                assertTrue(none.headers().firstValue("Allow").isEmpty(), method + " " + path);
            }
        }
    }

    private HttpResponse<String> send(String method, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(admin(path)).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Reloads a file that names only the second backend: the first is retired and drains. */
    private void reloadWithoutTheFirstBackend() throws Exception {
        LbConfig running = lb.config();
        ClusterConfig c = running.clusters().getFirst();
        ClusterConfig onlyTwo = new ClusterConfig(c.name(), c.hosts(), c.paths(), c.algorithm(), c.healthCheck(),
                List.of(BackendSpec.parse("http://" + two.address())), c.pool());
        LbConfig next = new LbConfig(running.listeners(), running.tls(), List.of(onlyTwo), running.timeouts(),
                running.shutdown(), running.admin(), running.logLevel(), running.accessLog(), running.websocket());
        lb.setConfigSource(() -> next);
        assertEquals(200, post("/api/reload", null).statusCode());
    }

    /** The /metrics lines that carry this backend's label. */
    private List<String> seriesOf(String backend) {
        try {
            return get("/metrics").body().lines().filter(l -> !l.startsWith("#") && l.contains("backend=\"" + backend + "\"")).toList();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void seriesOfABackendAReloadTookOutEndOnceItDrained() throws Exception {
        start(Map.of());
        for (int i = 0; i < 4; i++) {
            assertEquals(200, proxy("/").statusCode());
        }
        // Round robin: the next request lands on the first backend and stays there until released.
        CompletableFuture<HttpResponse<String>> held = hold();
        await("a request in flight on the first backend", () -> lb.clusters().get(0).backends().get(0).inflight() == 1);
        reloadWithoutTheFirstBackend();

        // While it drains it is listed, and so are its series, with its request in flight.
        String draining = get("/metrics").body();
        String labels = "{backend=\"" + one.address() + "\",cluster=\"default\"";
        assertTrue(draining.contains("moosicbox_lb_requests_total" + labels + ",code=\"2xx\",method=\"GET\"} 2"), draining);
        assertTrue(draining.contains("moosicbox_lb_backend_inflight" + labels + "} 1"), draining);
        assertTrue(draining.contains("moosicbox_lb_backend_state" + labels + ",state=\"DRAINING\"} 1"), draining);

        one.release();
        assertEquals(200, held.get().statusCode());
        // A report may land just after the drain and bind its series once more; the scrape after ends it.
        await("no series for the retired backend", () -> seriesOf(one.address()).isEmpty());
        assertEquals(404, get("/api/backends/" + one.address()).statusCode());
        String after = get("/metrics").body();
        assertFalse(seriesOf(two.address()).isEmpty(), after);
        assertTrue(after.contains("moosicbox_lb_request_duration_seconds_count{backend=\"" + two.address() + "\",cluster=\"default\"} 2"), after);
    }

    @Test
    void aBackendAReloadTookOutShowsAsRetiredUntilItsLastRequestEnds() throws Exception {
        start(Map.of());
        CompletableFuture<HttpResponse<String>> held1 = hold();
        CompletableFuture<HttpResponse<String>> held2 = hold();
        await("both backends busy", () -> lb.clusters().get(0).backends().stream().allMatch(b -> b.inflight() == 1));
        reloadWithoutTheFirstBackend();

        JsonNode retired = backend(one.address());
        assertEquals("DRAINING", retired.get("state").asText());
        assertTrue(retired.get("retired").asBoolean(), retired.toString());
        assertEquals(1, retired.get("inflight").asInt());
        HttpResponse<String> single = get("/api/backends/" + one.address());
        assertEquals(200, single.statusCode(), single.body());
        assertEquals("DRAINING", json(single).get(0).get("state").asText());
        // The dashboard's view: not among the cluster's backends, but leaving it with its request.
        JsonNode cluster = json(get("/api/clusters")).get(0);
        assertEquals(1, cluster.get("backends").size(), cluster.toString());
        assertEquals(one.address(), cluster.get("leaving").get(0).get("address").asText(), cluster.toString());
        assertEquals(1, cluster.get("leaving").get(0).get("inflight").asInt());

        one.release();
        two.release();
        assertEquals(200, held1.get().statusCode());
        assertEquals(200, held2.get().statusCode());
        await("the retired backend gone from the list once drained", () -> {
            try {
                return get("/api/backends/" + one.address()).statusCode() == 404;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void drainWaitsForInflightThenEnableAndDisable() throws Exception {
        start(Map.of());
        // Round robin: of two requests, one lands on each backend; both stay in flight.
        CompletableFuture<HttpResponse<String>> held1 = hold();
        CompletableFuture<HttpResponse<String>> held2 = hold();
        await("both backends busy", () -> lb.clusters().get(0).backends().stream().allMatch(b -> b.inflight() == 1));

        HttpResponse<String> drained = post("/api/backends/" + one.address() + "/drain", null);
        assertEquals(200, drained.statusCode(), drained.body());
        JsonNode body = json(drained);
        assertEquals("DRAINING", body.get("state").asText());
        assertEquals("UP", body.get("previous_state").asText());
        assertEquals(1, body.get("inflight").asInt());
        // New requests all go to the other backend while the drain runs.
        for (int i = 0; i < 4; i++) {
            assertEquals("two\n", proxy("/").body());
        }
        one.release();
        two.release();
        assertEquals(200, held1.get().statusCode());
        assertEquals(200, held2.get().statusCode());
        await("DRAINED", () -> {
            try {
                return backend(one.address()).get("state").asText().equals("DRAINED");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        String metrics = get("/metrics").body();
        assertTrue(metrics.contains("moosicbox_lb_backend_state{backend=\"" + one.address() + "\",cluster=\"default\",state=\"DRAINED\"} 1"), metrics);
        assertTrue(metrics.contains("moosicbox_lb_backend_up{backend=\"" + one.address() + "\",cluster=\"default\"} 0"), metrics);

        assertEquals("UP", json(post("/api/backends/" + one.address() + "/enable", null)).get("state").asText());
        HttpResponse<String> disabled = post("/api/backends/" + two.address() + "/disable", null);
        assertEquals("DISABLED", json(disabled).get("state").asText());
        for (int i = 0; i < 3; i++) {
            assertEquals("one\n", proxy("/").body());
        }
    }

    /**
     * A deploy script that enables a server before it listens again reads DOWN and why, rather than
     * an UP that sends players to a closed port until three checks have failed.
     */
    @Test
    void enablingABackendThatFailsItsCheckLeavesItDown() throws Exception {
        start(Map.of());
        String address = one.address();
        assertEquals("DISABLED", json(post("/api/backends/" + address + "/disable", null)).get("state").asText());
        one.close();
        one = null;
        JsonNode enabled = json(post("/api/backends/" + address + "/enable", null));
        assertEquals("DOWN", enabled.get("state").asText(), enabled.toString());
        assertEquals("DISABLED", enabled.get("previous_state").asText(), enabled.toString());
        assertTrue(enabled.get("last_error").asText().startsWith("TCP connect"), enabled.toString());
        for (int i = 0; i < 3; i++) {
            assertEquals("two\n", proxy("/").body());
        }
    }

    @Test
    void ambiguousAddressNeedsTheCluster() throws Exception {
        one = new TestBackend("one");
        two = new TestBackend("two");
        BackendSpec shared = BackendSpec.parse("http://" + one.address());
        List<ClusterConfig> clusters = List.of(
                new ClusterConfig("music", List.of("*"), List.of("/music/"), "round_robin", HealthCheckConfig.defaults(),
                        List.of(shared), PoolSettings.defaults()),
                new ClusterConfig("default", List.of("*"), List.of("/"), "round_robin", HealthCheckConfig.defaults(),
                        List.of(shared, BackendSpec.parse("http://" + two.address())), PoolSettings.defaults()));
        LbConfig base = EnvConfig.load(EnvConfig.defaults(), Map.of("BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0", "SHUTDOWN_TIMEOUT", "1s", "BACKEND_SERVERS", "http://" + two.address()));
        start(new LbConfig(base.listeners(), base.tls(), clusters, base.timeouts(), base.shutdown(), base.admin(),
                base.logLevel(), base.accessLog()));

        HttpResponse<String> ambiguous = post("/api/backends/" + one.address() + "/drain", null);
        assertEquals(409, ambiguous.statusCode());
        assertEquals("[\"music\",\"default\"]", json(ambiguous).get("clusters").toString());
        HttpResponse<String> chosen = post("/api/backends/" + one.address() + "/disable?cluster=music", null);
        assertEquals(200, chosen.statusCode(), chosen.body());
        assertEquals("music", json(chosen).get("cluster").asText());
        assertEquals("DISABLED", lb.clusters().get(0).find(one.address()).state().name());
        assertEquals("UP", lb.clusters().get(1).find(one.address()).state().name());
        assertEquals(404, post("/api/backends/" + one.address() + "/drain?cluster=nope", null).statusCode());
    }

    @Test
    void tokenGuardsChangesButNotReads() throws Exception {
        start(Map.of("ADMIN_TOKEN", "s3cret-token"));
        String drain = "/api/backends/" + one.address() + "/drain";
        HttpResponse<String> none = post(drain, null);
        assertEquals(401, none.statusCode());
        assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
        json(none);
        assertEquals(403, post(drain, "wrong").statusCode());
        assertEquals(403, post(drain, "s3cret-token-and-more").statusCode());
        assertEquals(401, post("/api/reload", null).statusCode());
        assertEquals("UP", backend(one.address()).get("state").asText());
        assertEquals(200, get("/api/backends").statusCode());
        assertEquals(200, get("/metrics").statusCode());
        assertEquals(200, post(drain, "s3cret-token").statusCode());
        assertEquals("DRAINED", backend(one.address()).get("state").asText());
    }

    @Test
    void changesFromAnotherOriginOrARebindingNameAreRefused() throws Exception {
        start(Map.of());
        String drain = "/api/backends/" + one.address() + "/drain";
        // What a web page open in a browser on this host can send, with no preflight (mode "no-cors").
        HttpResponse<String> fromPage = http.send(HttpRequest.newBuilder(admin(drain)).header("Origin", "http://127.0.0.1:8000")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(403, fromPage.statusCode(), fromPage.body());
        json(fromPage);
        // DNS rebinding: the page's own name resolves to 127.0.0.1, so it is same-origin with itself.
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", lb.adminPort())) {
            String host = "rebind.example:" + lb.adminPort();
            s.getOutputStream().write(("POST " + drain + " HTTP/1.1\r\nHost: " + host + "\r\nOrigin: http://" + host
                    + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 403 "), answer);
        }
        assertEquals("UP", backend(one.address()).get("state").asText());
        // The dashboard's own page, and scripts (no Origin), still may.
        HttpResponse<String> sameOrigin = http.send(HttpRequest.newBuilder(admin(drain))
                .header("Origin", "http://127.0.0.1:" + lb.adminPort()).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, sameOrigin.statusCode(), sameOrigin.body());
        assertEquals(200, post("/api/backends/" + one.address() + "/enable", null).statusCode());
    }

    @Test
    void aTokenEndingInANewlineIsTheTokenWithoutIt() throws Exception {
        // A Kubernetes Secret made with --from-file keeps the file's last newline.
        start(Map.of("ADMIN_TOKEN", "s3cret-token\n"));
        assertEquals(200, post("/api/backends/" + one.address() + "/drain", "s3cret-token").statusCode());
    }

    @Test
    void aClusterCountsTheAnswersNoBackendGave() throws Exception {
        start(Map.of());
        assertEquals(200, proxy("/").statusCode());
        for (var b : lb.clusters().get(0).backends()) {
            b.setState(io.moosicbox.lb.pool.BackendState.DISABLED);
        }
        for (int i = 0; i < 20; i++) {
            assertEquals(503, proxy("/").statusCode());
        }
        JsonNode counters = json(get("/api/clusters")).get(0).get("counters");
        assertEquals(21, counters.get("responses").asLong(), counters.toString());
        assertEquals(20, counters.get("responses_5xx").asLong(), counters.toString());
    }

    @Test
    void loopbackRule() {
        assertTrue(AdminAuth.isLoopback("127.0.0.1"));
        assertTrue(AdminAuth.isLoopback("127.3.4.5"));
        assertTrue(AdminAuth.isLoopback("::1"));
        assertTrue(AdminAuth.isLoopback("[0:0:0:0:0:0:0:1]"));
        assertFalse(AdminAuth.isLoopback("10.0.0.1"));
        assertFalse(AdminAuth.isLoopback("192.168.1.20"));
        assertFalse(AdminAuth.isLoopback("[2001:db8::1]"));
        assertFalse(AdminAuth.isLoopback("localhost"));
        assertFalse(AdminAuth.isLoopback(""));
    }

    /**
     * Without a file (variables only, no certificates) a reload has nothing to re-read: applied,
     * nothing to restart. A file that does not load is refused with the reason.
     */
    @Test
    void aReloadIsAppliedOrRefusedWithTheReason() throws Exception {
        start(Map.of());
        HttpResponse<String> applied = post("/api/reload", null);
        assertEquals(200, applied.statusCode(), applied.body());
        assertTrue(json(applied).get("applied").asBoolean());
        assertEquals("[]", json(applied).get("needs_restart").toString());

        lb.setConfigSource(() -> {
            throw new ConfigException(List.of("clusters[0].backends: missing"));
        });
        HttpResponse<String> r = post("/api/reload", null);
        assertEquals(422, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertFalse(body.get("applied").asBoolean());
        assertEquals("[\"clusters[0].backends: missing\"]", body.get("problems").toString());
        String m = get("/metrics").body();
        assertTrue(m.contains("moosicbox_lb_config_reloads_total{result=\"applied\"} 1"), m);
        assertTrue(m.contains("moosicbox_lb_config_reloads_total{result=\"refused\"} 1"), m);
    }

    /**
     * A refused reload (SIGHUP or the file watch, whose answer nobody reads) stays visible until one
     * is applied, as Prometheus' own {@code prometheus_config_last_reload_successful}: the counter's
     * increase fades while the broken file stays on disk for the next restart.
     */
    @Test
    void theLastReloadsOutcomeStaysVisibleUntilTheNextOneIsApplied() throws Exception {
        start(Map.of());
        String m = get("/metrics").body();
        assertTrue(m.contains("moosicbox_lb_config_last_reload_successful 1.0"), m);
        double startedAt = lastReloadSuccess(m);
        assertTrue(Math.abs(startedAt - System.currentTimeMillis() / 1000.0) < 120, m);

        lb.setConfigSource(() -> {
            throw new ConfigException(List.of("clusters[0].backends: missing"));
        });
        assertEquals(422, post("/api/reload", null).statusCode());
        assertEquals(422, post("/api/reload", null).statusCode());
        m = get("/metrics").body();
        assertTrue(m.contains("moosicbox_lb_config_last_reload_successful 0.0"), m);
        assertEquals(startedAt, lastReloadSuccess(m), m);

        Thread.sleep(20);
        lb.setConfigSource(null);
        assertEquals(200, post("/api/reload", null).statusCode());
        m = get("/metrics").body();
        assertTrue(m.contains("moosicbox_lb_config_last_reload_successful 1.0"), m);
        assertTrue(lastReloadSuccess(m) > startedAt, m);
    }

    private static double lastReloadSuccess(String metrics) {
        java.util.regex.Matcher t = java.util.regex.Pattern
                .compile("(?m)^moosicbox_lb_config_last_reload_success_timestamp_seconds (\\S+)$").matcher(metrics);
        assertTrue(t.find(), metrics);
        return Double.parseDouble(t.group(1));
    }

    @Test
    void metricsCountRequestsByBackendMethodAndStatus() throws Exception {
        start(Map.of());
        for (int i = 0; i < 4; i++) {
            proxy("/");
        }
        proxy("/fail");
        proxy("/fail");
        String m = get("/metrics").body();
        String labels = "{backend=\"" + one.address() + "\",cluster=\"default\",code=\"2xx\",method=\"GET\"}";
        // Round robin over 6 requests: each backend got 3; /fail answered 500 by one of each.
        assertTrue(m.contains("moosicbox_lb_requests_total" + labels + " 2"), m);
        assertTrue(m.contains("moosicbox_lb_requests_total{backend=\"" + one.address() + "\",cluster=\"default\",code=\"5xx\",method=\"GET\"} 1"), m);
        assertTrue(m.contains("moosicbox_lb_request_duration_seconds_count{backend=\"" + one.address() + "\",cluster=\"default\"} 3"), m);
        assertTrue(m.contains("moosicbox_lb_upstream_response_headers_seconds_count{backend=\"" + two.address() + "\",cluster=\"default\"} 3"), m);
        assertTrue(m.contains("moosicbox_lb_backend_requests_total{backend=\"" + one.address() + "\",cluster=\"default\"} 3"), m);
        assertTrue(m.contains("moosicbox_lb_backend_inflight{backend=\"" + one.address() + "\",cluster=\"default\"} 0"), m);
        assertTrue(m.contains("moosicbox_lb_websocket_sessions{backend=\"" + one.address() + "\",cluster=\"default\"} 0"), m);
        assertTrue(m.contains("moosicbox_lb_backend_state{backend=\"" + one.address() + "\",cluster=\"default\",state=\"UP\"} 1"), m);
        assertTrue(m.contains("moosicbox_lb_cluster_available_backends{cluster=\"default\"} 2"), m);
        assertTrue(m.contains("moosicbox_lb_cluster_queue_rejections_total{cluster=\"default\"} 0"), m);
        assertTrue(m.contains("moosicbox_lb_backend_retries_total{backend=\"" + one.address() + "\",cluster=\"default\"} 0"), m);
        assertTrue(m.contains("moosicbox_lb_backend_health_checks_failed_total{backend=\"" + one.address() + "\",cluster=\"default\"}"), m);
        assertTrue(m.contains("moosicbox_lb_client_connections_opened_total{listener=\"proxy\"}"), m);
        assertTrue(m.contains("moosicbox_lb_client_connections{listener=\"admin\"} 1"), m);
        assertTrue(m.contains("jvm_memory_used_bytes"), m);

        JsonNode counters = backend(one.address()).get("counters");
        assertEquals(3, counters.get("responses").asLong());
        assertEquals(1, counters.get("responses_5xx").asLong());
        assertTrue(counters.get("response_seconds_sum").asDouble() > 0);

        // A request no route takes is counted without a backend.
        HttpResponse<String> dash = get("/");
        assertEquals(200, dash.statusCode());
        assertTrue(dash.body().contains("/dashboard.js"));
        assertEquals(200, get("/dashboard.js").statusCode());
    }

    @Test
    void accessLogWritesOneJsonLinePerRequest(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("access.log");
        start(Map.of("ACCESS_LOG", file.toString(), "ACCESS_LOG_FORMAT", "json"));
        http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.proxyPort() + "/song?id=7"))
                .header("User-Agent", "test-agent \"quoted\"").header("Referer", "http://example/")
                .header("X-Request-Id", "ingress-7f3a").build(),
                HttpResponse.BodyHandlers.ofString());
        await("a line in the access log", () -> {
            try {
                return Files.exists(file) && !Files.readAllLines(file).isEmpty();
            } catch (java.io.IOException e) {
                return false;
            }
        });
        JsonNode line = Json.MAPPER.readTree(Files.readAllLines(file).get(0));
        assertEquals("GET", line.get("method").asText());
        assertEquals("/song?id=7", line.get("uri").asText());
        assertEquals(200, line.get("status").asInt());
        assertEquals(4, line.get("bytes").asInt());
        assertEquals("default", line.get("cluster").asText());
        assertEquals(one.address(), line.get("backend").asText());
        assertEquals("test-agent \"quoted\"", line.get("user_agent").asText());
        assertEquals("http://example/", line.get("referer").asText());
        assertEquals("127.0.0.1", line.get("client").asText());
        assertTrue(line.get("upstream_seconds").asDouble() > 0);
        assertTrue(line.get("duration_seconds").asDouble() >= line.get("upstream_seconds").asDouble());
        assertEquals(0, line.get("retries").asInt());
        assertEquals("complete", line.get("end").asText());
        assertEquals("ingress-7f3a", line.get("request_id").asText(), "the id the backend got");
    }

    /** A 200 whose backend crashed mid-stream is counted as a 200, and as cut by the backend. */
    @Test
    void aResponseTheBackendCutIsCountedAsCutByTheBackend() throws Exception {
        start(Map.of());
        for (int i = 0; i < 2; i++) {
            // Round robin: one on each backend. The client sees a broken body, never a complete one.
            assertThrows(java.io.IOException.class, () -> proxy("/cut"));
        }
        for (TestBackend b : List.of(one, two)) {
            String series = "moosicbox_lb_requests_cut_total{backend=\"" + b.address() + "\",by=\"backend\",cluster=\"default\"} 1.0";
            String ok = "moosicbox_lb_requests_total{backend=\"" + b.address() + "\",cluster=\"default\",code=\"2xx\",method=\"GET\"} 1.0";
            await(series, () -> {
                try {
                    String m = get("/metrics").body();
                    return m.contains(series) && m.contains(ok);
                } catch (Exception e) {
                    return false;
                }
            });
        }
        proxy("/");
        assertTrue(get("/metrics").body().lines().filter(l -> l.startsWith("moosicbox_lb_requests_cut_total{") && l.contains("by=\"client\""))
                .allMatch(l -> l.endsWith("} 0.0")), "a complete answer is no cut");
    }

    /**
     * Every listed backend has its cut series from the start, at 0: a series that appears at 1 shows no
     * increase() in Prometheus, so the README's alert missed each backend's first stream cut by a crash.
     */
    @Test
    void cutSeriesStartAtZeroAndEndWithTheirBackend() throws Exception {
        start(Map.of());
        String m = get("/metrics").body();
        for (TestBackend b : List.of(one, two)) {
            for (String by : List.of("client", "backend", "shutdown")) {
                assertTrue(m.contains("moosicbox_lb_requests_cut_total{backend=\"" + b.address() + "\",by=\"" + by
                        + "\",cluster=\"default\"} 0.0"), m);
            }
            for (String end : List.of("complete", "client", "backend", "shutdown")) {
                assertTrue(m.contains("moosicbox_lb_websocket_sessions_ended_total{backend=\"" + b.address() + "\",cluster=\"default\",end=\""
                        + end + "\"} 0.0"), m);
            }
        }
        // A backend that leaves before it served a request takes them along.
        reloadWithoutTheFirstBackend();
        await("no series for the backend that left", () -> seriesOf(one.address()).isEmpty());
        assertTrue(get("/metrics").body().contains("moosicbox_lb_requests_cut_total{backend=\"" + two.address()
                + "\",by=\"backend\",cluster=\"default\"} 0.0"));
    }

    @Test
    void combinedFormat() {
        var e = new io.moosicbox.lb.proxy.Exchange("default", "10.0.0.1:8001", "GET", "/a \"b\"", 206, "192.0.2.7",
                "HTTP/1.1", System.nanoTime(), 12_345_000, 2_000_000, 1, 1024, false, null, "curl/8",
                io.moosicbox.lb.proxy.Exchange.End.BACKEND, "4bf92f3577b34da6a3ce929d0e0e4736");
        StringBuilder b = new StringBuilder();
        AccessLogFormat.COMBINED.append(b, e);
        String line = b.toString();
        assertTrue(line.matches("192\\.0\\.2\\.7 - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}] "
                + "\"GET /a \\\\\"b\\\\\" HTTP/1\\.1\" 206 1024 \"-\" \"curl/8\" cluster=\"default\" backend=\"10\\.0\\.0\\.1:8001\" "
                + "upstream=0\\.002000 duration=0\\.012345 retries=1 end=backend request_id=\"4bf92f3577b34da6a3ce929d0e0e4736\""), line);
    }

    /**
     * What a client wrote cannot end a field early (an HTTP/2 :method with quotes, refused but logged),
     * and its UTF-8, which HTTP reads as ISO-8859-1, is neither mangled nor raw bytes in a combined line.
     */
    @Test
    void whatTheClientWroteIsEscaped() throws Exception {
        String utf8AsRead = new String("ua \u00e9".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        var e = new Exchange("default", null, "GET\" 200 1 \"-", "/x", 400, "192.0.2.7", "HTTP/2.0", System.nanoTime(),
                1_000, -1, 0, 36, false, null, utf8AsRead, Exchange.End.COMPLETE, null);
        StringBuilder combined = new StringBuilder();
        AccessLogFormat.COMBINED.append(combined, e);
        assertTrue(combined.toString().contains("] \"GET\\\" 200 1 \\\"- /x HTTP/2.0\" 400 36 \"-\" \"ua \\xc3\\xa9\" "), combined.toString());
        StringBuilder json = new StringBuilder();
        AccessLogFormat.JSON.append(json, e);
        JsonNode line = Json.MAPPER.readTree(json.toString());
        assertEquals("GET\" 200 1 \"-", line.get("method").asText());
        assertEquals("ua \u00e9", line.get("user_agent").asText());
    }

    /** Lines from different seconds, interleaved: each gets its own arrival second, none a neighbour's. */
    @Test
    void combinedTimeIsTheArrivalSecondOfEachLine() {
        DateTimeFormatter clf = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US);
        for (int i = 0; i < 4; i++) {
            long agoSeconds = i % 2 == 0 ? 0 : 7;
            var e = new Exchange("default", "10.0.0.1:8001", "GET", "/", 200, "192.0.2.7", "HTTP/1.1",
                    System.nanoTime() - TimeUnit.SECONDS.toNanos(agoSeconds), 1_000, 1_000, 0, 1, false, null, null, Exchange.End.COMPLETE, "id");
            StringBuilder b = new StringBuilder();
            AccessLogFormat.COMBINED.append(b, e);
            String time = b.substring(b.indexOf("[") + 1, b.indexOf("]"));
            long logged = ZonedDateTime.parse(time, clf).toEpochSecond();
            long expected = Instant.now().getEpochSecond() - agoSeconds;
            assertTrue(Math.abs(logged - expected) <= 1, "line " + i + ": " + time + " for an arrival " + agoSeconds + " s ago");
        }
    }
}
