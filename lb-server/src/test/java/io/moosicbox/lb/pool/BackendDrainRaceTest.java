package io.moosicbox.lb.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * DRAINED is what a deploy script waits for before it stops a backend: no lease may be taken
 * after a drain has counted the backend idle. Threads take and release leases while the backend is
 * drained and brought back over and over; a thread that holds a lease while the backend says
 * DRAINED is the race.
 */
class BackendDrainRaceTest {
    private static final int CYCLES = 2_000_000;
    private static final long MAX_NANOS = 3_000_000_000L;

    @Test
    void noLeaseIsHeldWhileTheBackendSaysDrained() throws Exception {
        Backend backend = new Backend(BackendSpec.parse("http://10.0.0.1:8001"));
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger violations = new AtomicInteger();
        AtomicInteger leases = new AtomicInteger();
        List<Thread> takers = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            takers.add(Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    Lease lease = backend.tryAcquire();
                    if (lease != null) {
                        leases.incrementAndGet();
                        if (backend.state() == BackendState.DRAINED) {
                            violations.incrementAndGet();
                        }
                        lease.release(false);
                    }
                }
            }));
        }
        long started = System.nanoTime();
        int cycles = 0;
        try {
            while (cycles < CYCLES && System.nanoTime() - started < MAX_NANOS) {
                backend.setState(BackendState.DRAINING);
                long drainStarted = System.nanoTime();
                while (backend.state() != BackendState.DRAINED) {
                    assertTrue(System.nanoTime() - drainStarted < 5_000_000_000L, "never DRAINED: " + backend.inflight() + " in flight");
                    Thread.onSpinWait();
                }
                backend.setState(BackendState.UP);
                cycles++;
            }
        } finally {
            running.set(false);
            for (Thread t : takers) {
                t.join(5_000);
            }
        }
        assertTrue(cycles > 100 && leases.get() > 100, cycles + " cycles, " + leases.get() + " leases");
        assertEquals(0, backend.inflight(), "every lease was released");
        assertEquals(0, violations.get(), "leases taken after the drain found the backend idle, in " + cycles + " cycles");
    }
}
