package io.moosicbox.lb.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Passive ejection writes its end before it swaps UP for DOWN, and puts the old end back when the
 * state was not UP after all. A health check reads that end to decide whether a DOWN backend may
 * rise: it must never see an end that no ejection set, or a backend a check took DOWN (failures of
 * its requests still coming in) has its passing checks thrown away.
 */
class EjectionRaceTest {
    private static final long MAX_NANOS = 1_000_000_000L;

    @Test
    void aCheckNeverSeesTheEndOfAnEjectionThatDidNotHappen() throws Exception {
        // One failure ejects, for 30 s; a second backend, so that ejecting this one is allowed.
        PoolSettings ejectAtOnce = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip",
                1, Duration.ofSeconds(30), false, false);
        Cluster c = Cluster.of(TestBalancer.cluster("round_robin", ejectAtOnce, "http://10.0.0.1:8001", "http://10.0.0.2:8001"));
        Backend backend = c.backends().getFirst();
        // DOWN by its health checks: no ejection can take it from UP, so none may set an end.
        backend.compareAndSetState(BackendState.UP, BackendState.DOWN);
        long before = backend.ejectedUntilNanos();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger seen = new AtomicInteger();
        Thread failing = Thread.ofPlatform().start(() -> {
            while (running.get()) {
                // Requests in flight when the checks took it DOWN, failing one after another.
                backend.acquire().release(true);
            }
        });
        long started = System.nanoTime();
        try {
            while (System.nanoTime() - started < MAX_NANOS) {
                if (backend.ejectedUntilNanos() != before) {
                    seen.incrementAndGet();
                }
            }
        } finally {
            running.set(false);
            failing.join(5_000);
        }
        assertEquals(BackendState.DOWN, backend.state());
        assertEquals(0, backend.ejections());
        assertEquals(0, seen.get(), "a health check read the end of an ejection that did not happen");
        assertTrue(backend.failures() > 1000, "the race ran: " + backend.failures() + " failures");
    }
}
