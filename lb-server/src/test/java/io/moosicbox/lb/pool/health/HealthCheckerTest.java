package io.moosicbox.lb.pool.health;

import static io.moosicbox.lb.pool.TestBalancer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.TestBackend;
import io.moosicbox.lb.pool.TestBalancer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HealthCheckerTest {
    private static final HealthCheckConfig TCP = new HealthCheckConfig(null, Duration.ofMillis(100), Duration.ofMillis(500), 2, 2);
    private final AtomicReference<List<Cluster>> clusters = new AtomicReference<>(List.of());
    private final HealthChecker checker = new HealthChecker(clusters::get);
    private TestBackend live;
    private TestBackend other;

    @AfterEach
    void stop() throws Exception {
        checker.stop();
        if (live != null) {
            live.close();
        }
        if (other != null) {
            other.close();
        }
    }

    /** Another live backend in the cluster, so that the one under test can be ejected. */
    private TestBackend companion() throws Exception {
        other = TestBackend.start("other");
        return other;
    }

    private static Cluster cluster(HealthCheckConfig health, PoolSettings pool, String... backends) {
        return Cluster.of(TestBalancer.cluster("round_robin", health, pool, backends));
    }

    private static String deadUrl() throws Exception {
        return "http://127.0.0.1:" + TestBackend.refusingPort();
    }

    @Test
    void tcpChecksTakeADeadBackendDownAfterFallAndLeaveOperatorsStatesAlone() throws Exception {
        live = TestBackend.start("live");
        Cluster c = cluster(TCP, PoolSettings.defaults(), live.url(), deadUrl(), deadUrl());
        Backend up = c.backends().get(0);
        Backend dead = c.backends().get(1);
        Backend disabled = c.backends().get(2);
        disabled.setState(BackendState.DISABLED);
        clusters.set(List.of(c));
        checker.start();
        await("dead backend DOWN", Duration.ofSeconds(5), () -> dead.state() == BackendState.DOWN);
        assertTrue(dead.healthChecksFailed() >= 2);
        assertTrue(dead.lastError().startsWith("TCP connect: "), dead.lastError());
        await("the disabled one checked too", Duration.ofSeconds(5), () -> disabled.healthChecksFailed() >= 3);
        assertEquals(BackendState.DISABLED, disabled.state(), "health never undoes an operator's state");
        assertEquals(BackendState.UP, up.state());
        assertNotNull(up.lastCheck());
        assertEquals(0, up.healthChecksFailed());
    }

    /** What an operator's enable asks for: a check at once, whose verdict is final either way. */
    @Test
    void aCheckAskedForRunsAtOnceAndDecides() throws Exception {
        live = TestBackend.start("live");
        // Every 30 s, rise and fall of 3: within the test only the checks asked for can move a state.
        HealthCheckConfig slow = new HealthCheckConfig(null, Duration.ofSeconds(30), Duration.ofMillis(500), 3, 3);
        Cluster c = cluster(slow, PoolSettings.defaults(), live.url(), deadUrl());
        Backend alive = c.backends().get(0);
        Backend dead = c.backends().get(1);
        clusters.set(List.of(c));
        checker.start();
        await("the first checks", Duration.ofSeconds(5), () -> alive.lastCheck() != null && dead.lastCheck() != null);
        assertEquals(BackendState.UP, dead.state(), "one failed check of three");
        checker.checkNow(dead).get(5, TimeUnit.SECONDS);
        assertEquals(BackendState.DOWN, dead.state());
        assertEquals(2, dead.healthChecksFailed());
        alive.setState(BackendState.DOWN);
        checker.checkNow(alive).get(5, TimeUnit.SECONDS);
        assertEquals(BackendState.UP, alive.state(), "one passing check of three");
        assertEquals(2, alive.healthChecksPassed());
    }

    @Test
    void httpChecksTakeTwoAndThreeHundredsAsHealthyAndOthersNot() throws Exception {
        live = TestBackend.start("live");
        Cluster c = cluster(new HealthCheckConfig("/health", Duration.ofMillis(100), Duration.ofSeconds(1), 2, 2),
                PoolSettings.defaults(), live.url());
        Backend b = c.backends().get(0);
        clusters.set(List.of(c));
        checker.start();
        await("checked", Duration.ofSeconds(5), () -> b.healthChecksPassed() > 0);
        live.healthStatus.set(503);
        await("DOWN on 503", Duration.ofSeconds(5), () -> b.state() == BackendState.DOWN);
        assertEquals("HTTP GET /health: GET /health answered 503", b.lastError());
        live.healthStatus.set(302);
        await("UP on 302 (redirects are not followed)", Duration.ofSeconds(5), () -> b.state() == BackendState.UP);
        live.healthStatus.set(404);
        await("DOWN on 404", Duration.ofSeconds(5), () -> b.state() == BackendState.DOWN);
    }

    @Test
    void aBackendCanWaitForItsFirstVerdictBeforeTraffic() throws Exception {
        live = TestBackend.start("live");
        PoolSettings waitFirst = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip",
                5, Duration.ofSeconds(10), false, true);
        Cluster c = cluster(new HealthCheckConfig("/health", Duration.ofMillis(200), Duration.ofSeconds(1), 3, 3),
                waitFirst, live.url());
        Backend b = c.backends().get(0);
        assertEquals(BackendState.DOWN, b.state(), "unknown: no traffic before a verdict");
        assertEquals(null, c.pick(io.moosicbox.lb.pool.RequestInfo.NONE));
        clusters.set(List.of(c));
        checker.start();
        await("UP at its first passing check", Duration.ofSeconds(5), () -> b.state() == BackendState.UP);
        assertEquals(1, b.healthChecksPassed(), "the first verdict is enough, not rise");
        // Without the setting a backend takes traffic at once.
        assertEquals(BackendState.UP, cluster(TCP, PoolSettings.defaults(), live.url()).backends().get(0).state());
    }

    /** A backend ejected once for 150 ms (one failure ejects it) and back UP after its first passing check. */
    private Backend backAfterOneEjection() throws Exception {
        live = TestBackend.start("live");
        HealthCheckConfig fast = new HealthCheckConfig(null, Duration.ofMillis(50), Duration.ofMillis(500), 1, 2);
        PoolSettings eject = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip",
                1, Duration.ofMillis(150), false, false);
        Cluster c = cluster(fast, eject, live.url(), companion().url());
        Backend b = c.backends().get(0);
        clusters.set(List.of(c));
        checker.start();
        b.acquire().release(true);
        await("back UP", Duration.ofSeconds(5), () -> b.state() == BackendState.UP);
        return b;
    }

    @Test
    void aBackendThatFailsAgainWithoutASuccessSinceItCameBackDoublesHoweverLateItFails() throws Exception {
        // A hung backend passes its TCP checks and fails only at the response timeout, after its ejection.
        Backend b = backAfterOneEjection();
        Thread.sleep(400);
        b.acquire().release(true);
        long second = b.ejectedUntilNanos() - System.nanoTime();
        assertTrue(second > Duration.ofMillis(200).toNanos(), "no success since it came back: 300 ms, not 150: " + second / 1_000_000);

        await("back UP again", Duration.ofSeconds(5), () -> b.state() == BackendState.UP);
        b.acquire().release(false);
        Thread.sleep(700);
        b.acquire().release(true);
        long third = b.ejectedUntilNanos() - System.nanoTime();
        assertTrue(third < Duration.ofMillis(200).toNanos(), "a success since, and failing late: back to 150 ms: " + third / 1_000_000);
    }

    /** A deploy: the operator enables a new server, whose first crash is not the old one's second. */
    @Test
    void anOperatorsEnableForgetsTheBackoff() throws Exception {
        Backend b = backAfterOneEjection();
        b.recordError("Connection refused");
        b.enable();
        assertEquals(null, b.lastError(), "the old server's error is not the new one's");
        b.acquire().release(true);
        assertEquals(BackendState.DOWN, b.state());
        long second = b.ejectedUntilNanos() - System.nanoTime();
        assertTrue(second < Duration.ofMillis(200).toNanos(), "the first ejection's 150 ms, not 300: " + second / 1_000_000);
    }

    /**
     * An operator enables a backend in the middle of a long ejection (a new server after a deploy);
     * when it then fails a check and passes again, it comes back after rise, not at the end of the
     * old server's ejection: the enable ended that ejection.
     */
    @Test
    void anOperatorsEnableEndsTheEjection() throws Exception {
        live = TestBackend.start("live");
        HealthCheckConfig fast = new HealthCheckConfig("/health", Duration.ofMillis(50), Duration.ofMillis(500), 1, 1);
        PoolSettings longEjection = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip",
                1, Duration.ofSeconds(30), false, false);
        Cluster c = cluster(fast, longEjection, live.url(), companion().url());
        Backend b = c.backends().get(0);
        clusters.set(List.of(c));
        checker.start();
        b.acquire().release(true);
        assertEquals(BackendState.DOWN, b.state(), "ejected for 30 s");
        b.enable();
        assertEquals(BackendState.UP, b.state());
        live.healthStatus.set(503);
        await("DOWN on a failed check", Duration.ofSeconds(5), () -> b.state() == BackendState.DOWN);
        live.healthStatus.set(200);
        await("UP at its next passing check, not 30 s later", Duration.ofSeconds(3), () -> b.state() == BackendState.UP);
    }

    @Test
    void aHealthyAnswerWithALargeBodyIsHealthy() throws Exception {
        org.eclipse.jetty.server.Server big = TestBalancer.serve(new org.eclipse.jetty.server.Handler.Abstract() {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response,
                                  org.eclipse.jetty.util.Callback callback) {
                response.write(true, java.nio.ByteBuffer.allocate(3 << 20), callback);
                return true;
            }
        });
        try {
            Cluster c = cluster(new HealthCheckConfig("/health", Duration.ofMillis(100), Duration.ofSeconds(2), 1, 1),
                    PoolSettings.defaults(), TestBalancer.url(big));
            Backend b = c.backends().get(0);
            clusters.set(List.of(c));
            checker.start();
            await("three checks", Duration.ofSeconds(10), () -> b.healthChecksPassed() + b.healthChecksFailed() >= 3);
            assertEquals(0, b.healthChecksFailed(), "a 3 MiB body is no failure: " + b.lastError());
            assertEquals(BackendState.UP, b.state());
        } finally {
            big.stop();
        }
    }

    @Test
    void aReloadThatShortensTheIntervalAppliesAtOnce() throws Exception {
        live = TestBackend.start("live");
        Cluster slow = cluster(new HealthCheckConfig(null, Duration.ofSeconds(60), Duration.ofMillis(500), 1, 1),
                PoolSettings.defaults(), live.url());
        Backend b = slow.backends().get(0);
        clusters.set(List.of(slow));
        checker.start();
        await("the first check", Duration.ofSeconds(5), () -> b.healthChecksPassed() == 1);
        clusters.set(List.of(new Cluster(TestBalancer.cluster("round_robin", TCP, PoolSettings.defaults(), live.url()), List.of(b))));
        await("checks every 100 ms, not after the old minute", Duration.ofSeconds(5), () -> b.healthChecksPassed() >= 3);
    }

    @Test
    void aReloadedClusterListIsCheckedWithoutARestart() throws Exception {
        live = TestBackend.start("live");
        Cluster first = cluster(TCP, PoolSettings.defaults(), live.url());
        clusters.set(List.of(first));
        checker.start();
        await("first checked", Duration.ofSeconds(5), () -> first.backends().get(0).lastCheck() != null);
        // A reload keeps the backend object of an unchanged address and adds a new one.
        Backend kept = first.backends().get(0);
        Cluster second = new Cluster(TestBalancer.cluster("round_robin", TCP, PoolSettings.defaults(), live.url(), deadUrl()),
                List.of(kept, new Backend(io.moosicbox.lb.config.BackendSpec.parse(deadUrl()))));
        clusters.set(List.of(second));
        Backend added = second.backends().get(1);
        await("the new backend is checked and found DOWN", Duration.ofSeconds(5), () -> added.state() == BackendState.DOWN);
        long before = kept.healthChecksPassed();
        await("the kept backend is still checked", Duration.ofSeconds(5), () -> kept.healthChecksPassed() > before);
    }

    @Test
    void anEjectedBackendComesBackOnlyAfterItsEjectionAndRisePassingChecks() throws Exception {
        live = TestBackend.start("live");
        PoolSettings ejectFast = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip",
                2, Duration.ofMillis(600), false, false);
        // A second backend: passive health never ejects the last available one.
        Cluster c = cluster(TCP, ejectFast, live.url(), companion().url());
        Backend b = c.backends().get(0);
        clusters.set(List.of(c));
        checker.start();
        b.acquire().release(true);
        assertEquals(BackendState.UP, b.state());
        b.acquire().release(false);
        b.acquire().release(true);
        assertEquals(BackendState.UP, b.state(), "a success in between resets the count");
        b.acquire().release(true);
        long ejectedAt = System.nanoTime();
        assertEquals(BackendState.DOWN, b.state());
        assertEquals(1, b.ejections());
        await("back UP", Duration.ofSeconds(5), () -> b.state() == BackendState.UP);
        long downMs = (System.nanoTime() - ejectedAt) / 1_000_000;
        assertTrue(downMs >= 550, "stayed out for its ejection time: " + downMs);

        // Failing again soon after: the ejection doubles.
        b.acquire().release(true);
        b.acquire().release(true);
        assertEquals(BackendState.DOWN, b.state());
        long second = b.ejectedUntilNanos() - System.nanoTime();
        assertTrue(second > Duration.ofMillis(1000).toNanos(), "second ejection about 1200 ms: " + second / 1_000_000);
        assertEquals(0, b.inflight());
    }

    @Test
    void failingSoonAfterItCameBackDoublesEvenWhenItsChecksTookLongerThanTheEjection() throws Exception {
        live = TestBackend.start("live");
        // Checks every 400 ms with rise 3: back UP about a second after a 150 ms ejection ended.
        HealthCheckConfig slowChecks = new HealthCheckConfig(null, Duration.ofMillis(400), Duration.ofMillis(500), 3, 2);
        PoolSettings eject = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip",
                1, Duration.ofMillis(150), false, false);
        Cluster c = cluster(slowChecks, eject, live.url(), companion().url());
        Backend b = c.backends().get(0);
        clusters.set(List.of(c));
        checker.start();
        b.acquire().release(true);
        assertEquals(BackendState.DOWN, b.state());
        await("back UP", Duration.ofSeconds(5), () -> b.state() == BackendState.UP);
        assertTrue(System.nanoTime() - b.ejectedUntilNanos() > Duration.ofMillis(300).toNanos(), "came back well after the ejection ended");

        b.acquire().release(true);
        assertEquals(BackendState.DOWN, b.state());
        long second = b.ejectedUntilNanos() - System.nanoTime();
        assertTrue(second > Duration.ofMillis(200).toNanos(), "the second ejection doubles to 300 ms: " + second / 1_000_000);
    }
}
