package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Docker Compose names services such as moosicbox_server, and java.net.URI sees no host in a name
 * with '_'. The name resolves here through a hosts file of the JVM's own (jdk.net.hosts.file), as
 * Compose's DNS would resolve it: the balancer's real lookups, health checks and requests.
 */
class UnderscoreHostTest {

    @Test
    void aBackendNamedWithAnUnderscoreIsCheckedAndServes(@TempDir Path dir) throws Exception {
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "127.0.0.1 moosicbox_server\n");
        String javaOpts = "-Xmx256m -Djdk.net.hosts.file=" + hosts;
        try (TestBackend backend = new TestBackend("underscore")) {
            for (String check : new String[] {"", "/"}) {
                Map<String, String> env = Map.of("BACKEND_SERVERS", "moosicbox_server:" + backend.port(),
                        "HEALTH_CHECK_PATH", check, "HEALTH_CHECK_INTERVAL", "200ms", "JAVA_OPTS", javaOpts);
                try (LbProcess lb = LbProcess.start(env)) {
                    Await.until("a first health check", () -> !backends(lb).contains("\"last_check\":null"));
                    String backends = backends(lb);
                    assertTrue(backends.contains("\"address\":\"moosicbox_server:" + backend.port() + "\""), backends);
                    assertTrue(backends.contains("\"state\":\"UP\""), "check " + (check.isEmpty() ? "TCP" : "GET " + check) + ": " + backends);
                    Curl.Reply r = Curl.run("-H", "Host: music.example.com", lb.proxyUrl() + "/headers");
                    assertEquals(200, r.status(), r + "\n" + lb.stderr());
                    assertTrue(r.body().contains("\":backend\":\"underscore\"") && r.body().contains("\"Host\":\"music.example.com\""), r.body());
                }
            }
        }
    }

    private static String backends(LbProcess lb) {
        try {
            return Curl.run(lb.adminUrl() + "/api/backends").body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
