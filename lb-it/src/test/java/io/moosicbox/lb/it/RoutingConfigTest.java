package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Routing by host and path, the MoosicBox CLUSTERS variable, the file, and SIGHUP reload, on the real process. */
class RoutingConfigTest {
    @TempDir
    Path dir;

    private static String get(LbProcess lb, String host, String path) throws Exception {
        Http.Result r = Http.curl("-o", "-", "-w", "%{http_code} ", "-H", "Host: " + host, lb.proxyUrl() + path);
        return r.stdout().trim().replace("\n", " ");
    }

    @Test
    void moosicBoxClustersVariableRoutesByHostAndSendsAcmeToTheSolver() throws Exception {
        try (TestBackend music = new TestBackend("music"); TestBackend fallback = new TestBackend("fallback");
             TestBackend solver = new TestBackend("solver")) {
            String clusters = "a.example.com,b.example.com:" + music.url().substring(7) + ";*:" + fallback.url().substring(7)
                    + ";solver:" + solver.url().substring(7);
            try (LbProcess lb = LbProcess.start(Map.of("CLUSTERS", clusters))) {
                assertEquals("music 200", get(lb, "a.example.com", "/"));
                assertEquals("music 200", get(lb, "B.Example.com:8443", "/x"));
                assertEquals("fallback 200", get(lb, "c.example.com", "/"));
                assertEquals("solver 200", get(lb, "a.example.com", "/.well-known/acme-challenge/token"));
                assertEquals("solver 200", get(lb, "unknown.org", "/.well-known/acme-challenge/token"));
            }
        }
    }

    @Test
    void sighupReloadsTheFileAndRefusesAnInvalidOne() throws Exception {
        try (TestBackend a = new TestBackend("a"); TestBackend b = new TestBackend("b")) {
            Path file = dir.resolve("lb.yaml");
            Files.writeString(file, """
                    clusters:
                      - name: music
                        hosts: [music.example.com]
                        backends: [%s]
                    """.formatted(a.url()));
            try (LbProcess lb = LbProcess.start(Map.of(), "--config", file.toString())) {
                assertEquals("a 200", get(lb, "music.example.com", "/"));
                assertTrue(get(lb, "other.example.com", "/").startsWith("421 no route for this host"));

                Files.writeString(file, """
                        clusters:
                          - name: music
                            hosts: [music.example.com]
                            backends: [%s]
                          - name: api
                            hosts: ["*.example.com"]
                            paths: [/api/]
                            backends: [%s]
                        """.formatted(a.url(), b.url()));
                lb.signal("HUP");
                Await.until("the reload", () -> {
                    try {
                        return get(lb, "other.example.com", "/api/x").equals("b 200");
                    } catch (Exception e) {
                        return false;
                    }
                });
                assertEquals("a 200", get(lb, "music.example.com", "/api/x"), "the exact host keeps its cluster");
                assertTrue(get(lb, "other.example.com", "/apix").startsWith("404 no route for this path"));

                Files.writeString(file, "clusters:\n  - name: music\n    backends: [{url: " + a.url() + ", weight: lots}]\n");
                lb.signal("HUP");
                Await.until("the refusal in the log", () -> {
                    try {
                        return (lb.stderr() + lb.stdout()).contains("reload (SIGHUP): refused, the running configuration stays");
                    } catch (Exception e) {
                        return false;
                    }
                });
                String log = lb.stderr() + lb.stdout();
                assertTrue(log.contains(file + ":3: clusters[0].backends[0].weight: \"lots\": expected a whole number"), log);
                assertTrue(lb.process().isAlive());
                assertEquals("b 200", get(lb, "other.example.com", "/api/x"), "the running configuration stays");
                assertEquals(0, lb.terminate(Duration.ofSeconds(30)));
            }
        }
    }

    /**
     * The file's log_level, and LOG_LEVEL over it, apply to a process started with --config: the
     * level was set after reading the file had already started the logging with its defaults.
     */
    @Test
    void theLogLevelAppliesWhenTheConfigurationIsAFile() throws Exception {
        try (TestBackend a = new TestBackend("a")) {
            Path file = dir.resolve("lb.yaml");
            Files.writeString(file, """
                    log_level: debug
                    clusters:
                      - name: music
                        backends: [%s]
                    """.formatted(a.url()));
            for (Map<String, String> env : List.of(Map.<String, String>of(), Map.of("LOG_LEVEL", "debug"))) {
                try (LbProcess lb = LbProcess.start(env, "--config", file.toString())) {
                    // A plain backend answers a WebSocket upgrade with 200: refused, which the balancer logs at DEBUG.
                    Http.Result r = Http.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
                            "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", lb.proxyUrl() + "/ws");
                    assertEquals("502", r.stdout().trim());
                    Await.until("the DEBUG line of the refused upgrade", () -> {
                        try {
                            return (lb.stdout() + lb.stderr()).contains("WebSocket upgrade to");
                        } catch (java.io.IOException e) {
                            return false;
                        }
                    });
                }
            }
        }
    }

    @Test
    void checkValidatesTheShippedExample() throws Exception {
        Http.Result r = Http.run(LbProcess.launcher().toString(), "--check", "--config",
                LbProcess.home().resolve("conf/lb.example.yaml").toString());
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().contains("name: solver"), r.stdout());
        List<String> lines = r.stdout().lines().toList();
        assertTrue(lines.getFirst().contains("configuration is valid"), lines.getFirst());
    }
}
