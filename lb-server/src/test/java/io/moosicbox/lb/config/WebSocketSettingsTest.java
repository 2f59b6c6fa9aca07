package io.moosicbox.lb.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** WEBSOCKET_IDLE_TIMEOUT and WEBSOCKET_DRAIN_GRACE: defaults, values, and errors that name them. */
class WebSocketSettingsTest {
    private static final String BACKENDS = "http://127.0.0.1:8001";

    @Test
    void defaultsAreOneHourIdleAndThirtySecondsGrace() throws ConfigException {
        LbConfig c = EnvConfig.load(EnvConfig.defaults(), Map.of("BACKEND_SERVERS", BACKENDS));
        assertEquals(Duration.ofHours(1), c.websocket().idleTimeout());
        assertEquals(Duration.ofSeconds(30), c.websocket().drainGrace());
        assertTrue(ConfigPrinter.toYaml(c).contains("idle_timeout: 1h"));
    }

    @Test
    void variablesSetThem() throws ConfigException {
        LbConfig c = EnvConfig.load(EnvConfig.defaults(), Map.of("BACKEND_SERVERS", BACKENDS,
                "WEBSOCKET_IDLE_TIMEOUT", "2h", "WEBSOCKET_DRAIN_GRACE", "0"));
        assertEquals(Duration.ofHours(2), c.websocket().idleTimeout());
        assertEquals(Duration.ZERO, c.websocket().drainGrace(), "0 closes drained sessions at once");
    }

    @Test
    void theFileSetsThemAndTheEnvironmentWins() throws Exception {
        String yaml = """
                clusters:
                  - name: default
                    backends: [http://127.0.0.1:8001]
                websocket: { idle_timeout: 2h, drain_grace: 5s }
                """;
        ConfigFile.Result file = ConfigFile.read("lb.yaml", new java.io.StringReader(yaml));
        assertEquals(java.util.List.of(), file.problems());
        assertEquals(Duration.ofHours(2), file.config().websocket().idleTimeout());
        assertEquals(Duration.ofSeconds(5), file.config().websocket().drainGrace());
        LbConfig merged = EnvConfig.load(file.config(), Map.of("WEBSOCKET_DRAIN_GRACE", "1m"));
        assertEquals(Duration.ofHours(2), merged.websocket().idleTimeout());
        assertEquals(Duration.ofMinutes(1), merged.websocket().drainGrace());

        ConfigFile.Result bad = ConfigFile.read("lb.yaml", new java.io.StringReader(
                yaml.replace("idle_timeout: 2h", "idle_timeout: never")));
        assertEquals(java.util.List.of("lb.yaml:4: websocket.idle_timeout: \"never\": expected a duration such as 250ms, 5s, 2m or 1h"),
                bad.problems());
    }

    @Test
    void badValuesAreErrorsNamingTheVariable() {
        ConfigException e = assertThrows(ConfigException.class, () -> EnvConfig.load(EnvConfig.defaults(),
                Map.of("BACKEND_SERVERS", BACKENDS, "WEBSOCKET_IDLE_TIMEOUT", "0", "WEBSOCKET_DRAIN_GRACE", "soon")));
        assertTrue(e.getMessage().contains("WEBSOCKET_IDLE_TIMEOUT=\"0\": must be more than 0"), e.getMessage());
        assertTrue(e.getMessage().contains("WEBSOCKET_DRAIN_GRACE=\"soon\""), e.getMessage());
    }
}
