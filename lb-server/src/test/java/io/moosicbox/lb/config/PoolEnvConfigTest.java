package io.moosicbox.lb.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PoolEnvConfigTest {

    @Test
    void poolAndHealthVariablesApplyToTheCluster() throws Exception {
        LbConfig c = EnvConfig.load(EnvConfig.defaults(), Map.ofEntries(
                Map.entry("BACKEND_SERVERS", "http://127.0.0.1:8001,127.0.0.1:8002 weight=3 max_conns=10"),
                Map.entry("LB_ALGORITHM", "consistent_hash"),
                Map.entry("LB_HASH_KEY", "Cookie:session"),
                Map.entry("LB_RETRIES", "0"),
                Map.entry("LB_QUEUE_SIZE", "7"),
                Map.entry("LB_QUEUE_TIMEOUT", "250ms"),
                Map.entry("LB_SLOW_START", "30s"),
                Map.entry("LB_EJECT_AFTER", "3"),
                Map.entry("LB_EJECT_TIME", "20s"),
                Map.entry("LB_EJECT_ON_5XX", "true"),
                Map.entry("HEALTH_CHECK_BEFORE_TRAFFIC", "yes"),
                Map.entry("HEALTH_CHECK_PATH", "/health"),
                Map.entry("HEALTH_CHECK_TIMEOUT", "1s"),
                Map.entry("HEALTH_CHECK_RISE", "4"),
                Map.entry("HEALTH_CHECK_FALL", "5")));
        ClusterConfig cluster = c.clusters().get(0);
        assertEquals("consistent_hash", cluster.algorithm());
        assertEquals(new PoolSettings(0, 7, Duration.ofMillis(250), Duration.ofSeconds(30), "cookie:session",
                3, Duration.ofSeconds(20), true, true), cluster.pool());
        assertEquals(new HealthCheckConfig("/health", Duration.ofSeconds(5), Duration.ofSeconds(1), 4, 5), cluster.healthCheck());
        assertTrue(ConfigPrinter.toYaml(c).contains("hash_key: cookie:session"), ConfigPrinter.toYaml(c));
    }

    @Test
    void defaultsWhenUnset() throws Exception {
        LbConfig c = EnvConfig.load(EnvConfig.defaults(), Map.of("BACKEND_SERVERS", "127.0.0.1:8001"));
        assertEquals(PoolSettings.defaults(), c.clusters().get(0).pool());
        assertEquals(HealthCheckConfig.defaults(), c.clusters().get(0).healthCheck());
        assertEquals(5, PoolSettings.defaults().ejectAfter());
        assertEquals(Duration.ofSeconds(10), PoolSettings.defaults().ejectTime());
    }

    @Test
    void everyBadValueIsNamed() {
        ConfigException e = assertThrows(ConfigException.class, () -> EnvConfig.load(EnvConfig.defaults(), Map.of(
                "BACKEND_SERVERS", "127.0.0.1:8001",
                "LB_HASH_KEY", "url",
                "LB_RETRIES", "-1",
                "LB_EJECT_ON_5XX", "maybe",
                "HEALTH_CHECK_RISE", "0",
                "HEALTH_CHECK_TIMEOUT", "0",
                "LB_QUEUE_TIMEOUT", "soon")));
        String message = String.join("\n", e.problems());
        for (String name : new String[] {"LB_HASH_KEY=\"url\"", "LB_RETRIES=\"-1\"", "LB_EJECT_ON_5XX=\"maybe\"",
                "HEALTH_CHECK_RISE=\"0\"", "HEALTH_CHECK_TIMEOUT=\"0\"", "LB_QUEUE_TIMEOUT=\"soon\""}) {
            assertTrue(message.contains(name), name + " in: " + message);
        }
    }
}
