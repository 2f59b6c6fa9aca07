package io.moosicbox.lb.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moosicbox.lb.config.PoolSettings;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** An operator's enable (a deploy's new server) starts the backend's passive health afresh. */
class BackendEnableTest {
    @Test
    void theOldServersFailuresInARowAreForgotten() {
        // Three failures in a row eject; a second backend, so that ejecting this one is allowed.
        PoolSettings ejectAfterThree = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip",
                3, Duration.ofSeconds(30), false, false);
        Cluster c = Cluster.of(TestBalancer.cluster("round_robin", ejectAfterThree, "http://10.0.0.1:8001", "http://10.0.0.2:8001"));
        Backend backend = c.backends().getFirst();
        for (int i = 0; i < 3; i++) {
            backend.acquire().release(true);
        }
        assertEquals(BackendState.DOWN, backend.state(), "ejected");
        // Requests that were in flight on the old server fail after the ejection.
        backend.acquire().release(true);
        backend.acquire().release(true);
        backend.enable();
        assertEquals(0, backend.consecutiveFailures(), "the old server's run of failures");
        backend.acquire().release(true);
        assertEquals(BackendState.UP, backend.state(), "the new server's first failure ejected it");
        assertEquals(1, backend.ejections());
    }
}
