package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.ConfigLoader;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.TestBalancer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.client.CompletableResponseListener;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hot reload with a real balancer, real backends and real clients. */
class ReloadTest {
    @TempDir
    Path dir;
    private final List<Server> backends = new ArrayList<>();
    private LoadBalancer lb;
    private HttpClient client;
    private Path file;

    /** Held requests answer when the test releases them (30 s at most). */
    private final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

    /** {@code /hold} answers once the test releases it; anything else answers the backend's name at once. */
    private String backend(String name) throws Exception {
        Server s = new Server();
        ServerConnector c = new ServerConnector(s, 1, 1);
        c.setHost("127.0.0.1");
        s.addConnector(c);
        s.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                if (Request.getPathInContext(request).equals("/hold")) {
                    release.await(30, TimeUnit.SECONDS);
                }
                Content.Sink.write(response, true, name, callback);
                return true;
            }
        });
        s.start();
        backends.add(s);
        return "127.0.0.1:" + c.getLocalPort();
    }

    private void writeConfig(String clusters) throws Exception {
        Files.writeString(file, """
                listeners: { http: 127.0.0.1:0, admin: 127.0.0.1:0 }
                clusters:
                """ + clusters);
    }

    @BeforeEach
    void start() throws Exception {
        client = new HttpClient();
        client.setMaxConnectionsPerDestination(64);
        client.start();
        file = dir.resolve("lb.yaml");
    }

    private void startLb() throws Exception {
        lb = new LoadBalancer(ConfigLoader.load(file, Map.of()));
        lb.setConfigSource(() -> ConfigLoader.load(file, Map.of()));
        lb.start();
    }

    @AfterEach
    void stop() throws Exception {
        release.countDown();
        client.stop();
        if (lb != null) {
            lb.stop();
        }
        for (Server s : backends) {
            s.stop();
        }
    }

    private ContentResponse get(String path) throws Exception {
        return client.newRequest("http://127.0.0.1:" + lb.proxyPort() + path).timeout(10, TimeUnit.SECONDS).send();
    }

    /** A request line sent as written: the HTTP client would resolve its dot segments itself. */
    private String rawGet(String target) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    private Future<ContentResponse> getAsync(String path) {
        return new CompletableResponseListener(client.newRequest("http://127.0.0.1:" + lb.proxyPort() + path)
                .timeout(40, TimeUnit.SECONDS)).send();
    }


    private Backend backendAt(String cluster, String address) {
        Cluster c = lb.router().cluster(cluster);
        return c == null ? null : c.find(address);
    }

    @Test
    void reloadUnderLoadFailsNoRequestAndLetsInFlightOnesFinish() throws Exception {
        String a = backend("a");
        String b = backend("b");
        String c = backend("c");
        writeConfig("""
                  - name: music
                    hosts: ["*"]
                    backends: [%s, %s]
                """.formatted(a, b));
        startLb();
        Backend backendA = backendAt("music", a);
        Backend backendB = backendAt("music", b);
        backendA.setState(BackendState.UP);

        // Requests that are on a and b while the configuration changes.
        List<Future<ContentResponse>> slow = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            slow.add(getAsync("/hold"));
        }
        TestBalancer.await("slow requests in flight on both backends", Duration.ofSeconds(10), () -> backendA.inflight() == 2 && backendB.inflight() == 2);

        AtomicBoolean running = new AtomicBoolean(true);
        Map<String, AtomicInteger> answeredBy = new ConcurrentHashMap<>();
        List<String> failures = new CopyOnWriteArrayList<>();
        AtomicInteger total = new AtomicInteger();
        List<Thread> load = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            load.add(Thread.ofVirtual().start(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (running.get() && System.nanoTime() < deadline) {
                    try {
                        ContentResponse r = get("/");
                        total.incrementAndGet();
                        if (r.getStatus() != 200) {
                            failures.add(r.getStatus() + " " + r.getContentAsString());
                        } else {
                            answeredBy.computeIfAbsent(r.getContentAsString(), k -> new AtomicInteger()).incrementAndGet();
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            }));
        }
        TestBalancer.await("traffic", Duration.ofSeconds(10), () -> total.get() > 100);

        // b leaves, c joins, a gets a weight and a limit: applied at once, while the slow ones run.
        writeConfig("""
                  - name: music
                    hosts: ["*"]
                    backends: [{url: %s, weight: 3, max_conns: 500}, %s]
                """.formatted(a, c));
        ReloadResult r1 = lb.reload();
        assertTrue(r1.applied(), r1.toString());
        assertEquals(List.of(), r1.needsRestart());
        Backend keptA = backendAt("music", a);
        assertSame(backendA, keptA, "an unchanged address keeps its Backend: health, in-flight and counters");
        assertEquals(3, keptA.weight());
        assertEquals(500, keptA.maxConns());
        assertTrue(slow.stream().noneMatch(Future::isDone), "the slow requests are still in flight");
        assertTrue(keptA.inflight() >= 2, "the in-flight count carried over: " + keptA.inflight());
        assertEquals(null, backendAt("music", b));
        assertEquals(BackendState.DRAINING, backendB.state(), "b finishes what it has");
        assertTrue(lb.retiredBackends().stream().anyMatch(r -> r.backend() == backendB));

        // An invalid file is refused and nothing changes.
        Files.writeString(file, "clusters:\n  - name: music\n    backends: [{url: " + a + ", weight: many}]\n");
        ReloadResult refused = lb.reload();
        assertFalse(refused.applied());
        assertEquals(List.of(file + ":3: clusters[0].backends[0].weight: \"many\": expected a whole number"), refused.problems());
        assertSame(keptA, backendAt("music", a));
        assertNotNull(backendAt("music", c));

        int before = total.get();
        TestBalancer.await("traffic after the reloads", Duration.ofSeconds(10), () -> total.get() > before + 100);
        TestBalancer.await("c answering", Duration.ofSeconds(10), () -> answeredBy.containsKey("c"));
        running.set(false);
        for (Thread t : load) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertTrue(slow.stream().noneMatch(Future::isDone), "held until released");
        release.countDown();
        List<String> slowBodies = new ArrayList<>();
        for (Future<ContentResponse> f : slow) {
            ContentResponse resp = f.get(10, TimeUnit.SECONDS);
            assertEquals(200, resp.getStatus());
            slowBodies.add(resp.getContentAsString());
        }
        slowBodies.sort(null);
        assertEquals(List.of("a", "a", "b", "b"), slowBodies, "requests in flight on the removed backend finished");
        TestBalancer.await("b drained", Duration.ofSeconds(10), () -> backendB.state() == BackendState.DRAINED);
        assertEquals(0, backendB.inflight());

        System.out.println("reload under load: " + total.get() + " requests, " + failures.size() + " failed, by backend " + answeredBy);
        assertEquals(List.of(), failures, "failed requests during reload out of " + total.get());
        assertEquals(1, lb.reloadsSucceeded());
        assertEquals(1, lb.reloadsFailed());
        // New requests only go to a and c now.
        for (int i = 0; i < 8; i++) {
            String who = get("/").getContentAsString();
            assertTrue(who.equals("a") || who.equals("c"), who);
        }
    }

    @Test
    void hostsPathsAndClustersChangeLive() throws Exception {
        String a = backend("a");
        String b = backend("b");
        writeConfig("""
                  - name: music
                    hosts: ["*"]
                    backends: [%s]
                """.formatted(a));
        startLb();
        Backend backendA = backendAt("music", a);
        backendA.setState(BackendState.DISABLED);
        assertEquals(503, get("/").getStatus(), "the operator's disable holds");
        writeConfig("""
                  - name: music
                    hosts: ["*"]
                    backends: [%s]
                  - name: api
                    hosts: ["*"]
                    paths: [/api]
                    backends: [%s]
                """.formatted(a, b));
        assertTrue(lb.reload().applied());
        assertSame(backendA, backendAt("music", a));
        assertEquals(BackendState.DISABLED, backendA.state(), "operator state survives a reload");
        assertEquals("b", get("/api/x").getContentAsString());
        // Routed on the path decoded and with its dot segments resolved, as nginx matches locations.
        assertTrue(rawGet("/x/../api/x").endsWith("\r\n\r\nb"), rawGet("/x/../api/x"));
        assertTrue(rawGet("/%61pi/x").endsWith("\r\n\r\nb"), rawGet("/%61pi/x"));
        assertEquals(503, get("/").getStatus());
        assertEquals(2, lb.clusters().size(), "clusters() is the current set, for the health checker");
    }

    @Test
    void listenerChangesAreReportedAsNeedingARestart() throws Exception {
        String a = backend("a");
        writeConfig("""
                  - name: music
                    backends: [%s]
                """.formatted(a));
        startLb();
        int port = lb.proxyPort();
        Files.writeString(file, """
                listeners: { http: 127.0.0.1:1, admin: 127.0.0.1:0 }
                tls: { hsts_max_age: 1d }
                timeouts: { connect: 1s, idle: 30s }
                websocket: { idle_timeout: 2m }
                access_log: { target: stdout }
                clusters:
                  - name: music
                    backends: [%s]
                """.formatted(a));
        ReloadResult r = lb.reload();
        assertTrue(r.applied());
        // Each setting by its key in the file and its variable, with values as they are written: not a dump of a record.
        String restart = ": takes effect at the next restart";
        assertEquals(List.of(
                "listeners.http (BIND_ADDRESS) changed from 127.0.0.1:0 to 127.0.0.1:1" + restart,
                "tls.hsts_max_age (SSL_HSTS_MAX_AGE) changed from 0 to 24h" + restart,
                "timeouts.connect (CONNECT_TIMEOUT) changed from 5s to 1s" + restart,
                "timeouts.idle (IDLE_TIMEOUT) changed from 1m to 30s" + restart,
                "access_log.target (ACCESS_LOG) changed from off to stdout" + restart,
                "websocket.idle_timeout (WEBSOCKET_IDLE_TIMEOUT) changed from 1h to 2m" + restart), r.needsRestart());
        assertEquals(port, lb.proxyPort(), "still listening where it started");
        assertEquals(200, get("/").getStatus());
        assertEquals(Duration.ofSeconds(1), lb.config().timeouts().connect(), "config() is the configuration last read");

        // Compared with what runs, not with the file read last: the same file again still needs the restart,
        ReloadResult again = lb.reload();
        assertEquals(r.needsRestart(), again.needsRestart());
        // and the file put back as it was at start needs none.
        writeConfig("""
                  - name: music
                    backends: [%s]
                """.formatted(a));
        ReloadResult back = lb.reload();
        assertTrue(back.applied(), back.toString());
        assertEquals(List.of(), back.needsRestart());
    }

    /**
     * Every reload says in one line what asked for it and how it ended, also without a file: a SIGHUP
     * to a balancer configured by variables only used to log nothing, so nobody could tell it arrived.
     */
    @Test
    void everyReloadLogsOneLineSayingWhatAskedForItAndHowItEnded() throws Exception {
        String a = backend("a");
        String b = backend("b");
        startWithOne(a);
        assertReloadLogs("SIGHUP", "INFO", "reload (SIGHUP): nothing to re-read (no configuration file, "
                + "the variables are read at start only, no certificates)");

        lb.setConfigSource(() -> ConfigLoader.load(file, Map.of()));
        assertReloadLogs("SIGHUP", "INFO", "reload (SIGHUP): nothing changed: 1 clusters, 1 backends");
        writeConfig("""
                  - name: music
                    backends: [%s, %s]
                """.formatted(a, b));
        assertReloadLogs("POST /api/reload by 127.0.0.1", "INFO", "reload (POST /api/reload by 127.0.0.1): applied: 1 clusters, 2 backends");
        writeConfig("""
                  - name: music
                    backends: [%s]
                    retries: many
                """.formatted(a));
        assertReloadLogs("LB_CONFIG_WATCH: lb.yaml changed", "WARN",
                "reload (LB_CONFIG_WATCH: lb.yaml changed): refused, the running configuration stays: " + file + ":5: clusters[0].retries");
    }

    /** A weight that round_robin ignores is pointed out when a reload brings it, as at start. */
    @Test
    void aReloadWarnsOfWeightsThatRoundRobinIgnores() throws Exception {
        String a = backend("a");
        String b = backend("b");
        startWithOne(a);
        lb.setConfigSource(() -> ConfigLoader.load(file, Map.of()));
        writeConfig("""
                  - name: music
                    backends: [%s, {url: %s, weight: 3}]
                """.formatted(a, b));
        List<String> lines = reloadLog("SIGHUP");
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(1).contains(":WARN ") && lines.get(1).contains("cluster music: round_robin ignores weights"), lines.toString());
    }

    /** A balancer started from the file with one cluster of one backend, and no source to reload from. */
    private void startWithOne(String backend) throws Exception {
        writeConfig("""
                  - name: music
                    backends: [%s]
                """.formatted(backend));
        lb = new LoadBalancer(ConfigLoader.load(file, Map.of()));
        lb.start();
    }

    /** One line about the reload, at that level, starting with that text. */
    private void assertReloadLogs(String trigger, String level, String expected) {
        List<String> lines = reloadLog(trigger);
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains(":" + level + " "), "expected " + level + ": " + lines.get(0));
        assertTrue(lines.get(0).contains(expected), "expected '" + expected + "' in " + lines.get(0));
    }

    /** Reloads and returns what the balancer logged about it. */
    private List<String> reloadLog(String trigger) {
        org.eclipse.jetty.logging.JettyLogger logger = (org.eclipse.jetty.logging.JettyLogger) org.slf4j.LoggerFactory.getLogger(LoadBalancer.class);
        org.eclipse.jetty.logging.StdErrAppender appender = (org.eclipse.jetty.logging.StdErrAppender) logger.getAppender();
        org.eclipse.jetty.logging.JettyLevel levelBefore = logger.getLevel();
        java.io.PrintStream streamBefore = appender.getStream();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        appender.setStream(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        logger.setLevel(org.eclipse.jetty.logging.JettyLevel.INFO);
        try {
            lb.reload(trigger);
        } finally {
            appender.setStream(streamBefore);
            logger.setLevel(levelBefore);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains("reload (" + trigger + ")")).toList();
    }

    /**
     * Files that only a start opens, named by a reload that cannot read them: refused now, rather
     * than accepted as "takes effect at the next restart" for a restart that then exits 2.
     */
    @Test
    void aReloadNamingFilesTheNextStartCannotOpenIsRefused() throws Exception {
        String a = backend("a");
        String clusters = """
                  - name: music
                    backends: [%s]
                """.formatted(a);
        writeConfig(clusters);
        startLb();
        Path missing = dir.resolve("missing");
        // Named by the file's key (no variable is set); a relative path is read beside the file, as at start.
        for (Map.Entry<String, String> addition : List.of(
                Map.entry("tls: { certificates: [ { cert: " + missing.resolve("cert.pem") + ", key: " + missing.resolve("key.pem") + " } ] }\n",
                        "tls.certificates[0].cert: " + missing.resolve("cert.pem") + " in the file: "),
                Map.entry("tls: { backends: { ca_file: missing/ca.pem } }\n", "tls.backends.ca_file: " + missing.resolve("ca.pem") + " in the file: "),
                Map.entry("access_log: { target: missing/access.log }\n",
                        "access_log.target: " + missing.resolve("access.log") + " in the file: "))) {
            Files.writeString(file, "listeners: { http: 127.0.0.1:0, admin: 127.0.0.1:0 }\n" + addition.getKey() + "clusters:\n" + clusters);
            ReloadResult r = lb.reload();
            assertFalse(r.applied(), addition + ": " + r);
            assertTrue(r.problems().getFirst().startsWith(addition.getValue()), r.problems().toString());
        }
        // The same settings with files that exist are taken, to serve from the next start.
        Files.writeString(file, "listeners: { http: 127.0.0.1:0, admin: 127.0.0.1:0 }\naccess_log: { target: "
                + dir.resolve("access.log") + " }\nclusters:\n" + clusters);
        assertTrue(lb.reload().applied());
    }

    /** Without a file (variables only) a reload re-reads the certificates, here none: nothing to do, nothing wrong. */
    @Test
    void withoutASourceOrCertificatesAReloadHasNothingToDo() throws Exception {
        String a = backend("a");
        writeConfig("""
                  - name: music
                    backends: [%s]
                """.formatted(a));
        lb = new LoadBalancer(ConfigLoader.load(file, Map.of()));
        lb.start();
        assertTrue(lb.reload().applied());
        assertEquals(0, lb.reloadsFailed());
    }
}
