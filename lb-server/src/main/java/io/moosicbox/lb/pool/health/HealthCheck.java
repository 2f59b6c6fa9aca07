package io.moosicbox.lb.pool.health;

import io.moosicbox.lb.pool.Backend;
import java.time.Duration;

/** One active probe of a backend. One class per kind of check; called on a virtual thread, may block. */
public interface HealthCheck {

    /**
     * @param timeout how long the whole check may take
     * @throws Exception when the backend is unhealthy; the message becomes the backend's last error
     */
    void check(Backend backend, Duration timeout) throws Exception;
}
