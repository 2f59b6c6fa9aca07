package io.moosicbox.lb.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated bad input for every configuration form: a fixed seed and a bounded number of cases.
 * The property: reading either succeeds or fails with {@link ConfigException} whose every line
 * says something, never with another exception.
 */
class ConfigFuzzTest {
    private static final long SEED = 11;
    private static final int CASES = 2_000;
    private static final String ALPHABET = "abcxyz019:/.,;= -_[]*%@#\"'{}\t\n\u00e9\u202e\u0000";
    private static final Map<String, String> VALID = Map.ofEntries(
            Map.entry("BIND_ADDRESS", "127.0.0.1:8080"),
            Map.entry("ADMIN_BIND_ADDRESS", "[::1]:9090"),
            Map.entry("BACKEND_SERVERS", "http://10.0.0.1:8001 weight=3 max_conns=20,10.0.0.2:8001"),
            Map.entry("CLUSTERS", "a.example.com,b.example.com:10.0.0.1:80,10.0.0.2:80;*:10.0.0.3:80;solver:10.0.0.9:8089"),
            Map.entry("HEALTH_CHECK_INTERVAL", "5s"),
            Map.entry("HEALTH_CHECK_PATH", "/health"),
            Map.entry("SHUTDOWN_TIMEOUT", "250ms"),
            Map.entry("LB_ALGORITHM", "round_robin"),
            Map.entry("PORT", "8080"),
            Map.entry("LOG_LEVEL", "info"),
            Map.entry("MAX_BODY_SIZE", "500m"),
            Map.entry("MAX_CLIENT_CONNECTIONS", "1000"),
            Map.entry("RATE_LIMIT_PER_IP", "50"),
            Map.entry("TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1,::1"));
    private static final List<String> NAMES = List.copyOf(new java.util.TreeSet<>(VALID.keySet()));

    @TempDir
    Path dir;

    @Test
    void environmentFormsFailOnlyAsConfigurationErrors() {
        Random random = new Random(SEED);
        int refused = 0;
        for (int i = 0; i < CASES; i++) {
            Map<String, String> env = new HashMap<>(VALID);
            env.remove(random.nextBoolean() ? "CLUSTERS" : "BACKEND_SERVERS");
            String name = NAMES.get(random.nextInt(NAMES.size()));
            env.put(name, mutate(VALID.get(name), random));
            try {
                EnvConfig.load(EnvConfig.defaults(), env);
                ListenerLimits.fromEnv(env);
            } catch (ConfigException e) {
                refused++;
                assertSays(e, env);
            } catch (RuntimeException e) {
                fail(name + "=\"" + env.get(name) + "\" threw " + e, e);
            }
        }
        assertTrue(refused > CASES / 4, "the generator produces bad input: " + refused + " of " + CASES + " refused");
    }

    @Test
    void yamlFilesFailOnlyAsConfigurationErrors() throws Exception {
        String valid = """
                listeners:
                  http: 127.0.0.1:8080
                  admin: 127.0.0.1:9191
                clusters:
                  - name: api
                    hosts: [api.example.com, "*.api.example.com"]
                    paths: [/api/]
                    algorithm: round_robin
                    health_check: { path: /health, interval: 5s, timeout: 2s, rise: 2, fall: 3 }
                    backends:
                      - { url: http://10.0.0.1:8001, weight: 3, max_conns: 200 }
                      - http://10.0.0.2:8001
                  - name: default
                    hosts: ["*"]
                    backends: [http://10.0.0.3:8001]
                timeouts: { connect: 5s, idle: 60s, response_headers: 60s }
                shutdown: { timeout: 30s }
                """;
        Random random = new Random(SEED);
        Path file = dir.resolve("lb.yaml");
        int refused = 0;
        for (int i = 0; i < CASES / 2; i++) {
            String text = random.nextInt(4) == 0 ? shuffleLines(valid, random) : mutate(valid, random);
            Files.writeString(file, text);
            try {
                ConfigLoader.load(file, Map.of());
            } catch (ConfigException e) {
                refused++;
                assertSays(e, Map.of());
            } catch (RuntimeException | StackOverflowError e) {
                fail("this file threw " + e + ":\n" + text, e);
            }
        }
        assertTrue(refused > CASES / 8, "the generator produces bad input: " + refused + " refused");
    }

    private static void assertSays(ConfigException e, Map<String, String> env) {
        assertFalse(e.problems().isEmpty());
        for (String p : e.problems()) {
            assertFalse(p.isBlank(), "an empty problem line");
            assertFalse(p.contains("Exception"), "a problem names a Java exception instead of the input: " + p);
        }
    }

    /** A few random edits: characters inserted, deleted, replaced, or a span repeated. */
    private static String mutate(String text, Random random) {
        StringBuilder s = new StringBuilder(text);
        int edits = 1 + random.nextInt(4);
        for (int e = 0; e < edits; e++) {
            int at = s.isEmpty() ? 0 : random.nextInt(s.length());
            switch (random.nextInt(5)) {
                case 0 -> s.insert(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
                case 1 -> { if (!s.isEmpty()) s.deleteCharAt(at); }
                case 2 -> { if (!s.isEmpty()) s.setCharAt(at, ALPHABET.charAt(random.nextInt(ALPHABET.length()))); }
                case 3 -> s.insert(at, random.nextBoolean() ? "99999999999999999999" : "-1");
                default -> s.insert(at, s.substring(at, Math.min(s.length(), at + 1 + random.nextInt(12))));
            }
        }
        return s.toString();
    }

    private static String shuffleLines(String text, Random random) {
        List<String> lines = new java.util.ArrayList<>(List.of(text.split("\n")));
        java.util.Collections.swap(lines, random.nextInt(lines.size()), random.nextInt(lines.size()));
        if (random.nextBoolean()) {
            lines.remove(random.nextInt(lines.size()));
        }
        return String.join("\n", lines);
    }
}
