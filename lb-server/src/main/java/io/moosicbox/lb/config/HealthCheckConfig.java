package io.moosicbox.lb.config;

import java.time.Duration;

/**
 * Active health checking of a cluster's backends.
 *
 * @param path     HTTP path to GET; null means a TCP connect check
 * @param interval time between checks of one backend
 * @param timeout  how long one check may take
 * @param rise     consecutive successes that bring a DOWN backend UP
 * @param fall     consecutive failures that take an UP backend DOWN
 */
public record HealthCheckConfig(String path, Duration interval, Duration timeout, int rise, int fall) {

    public static HealthCheckConfig defaults() {
        return new HealthCheckConfig(null, Duration.ofSeconds(5), Duration.ofSeconds(2), 2, 3);
    }

    public HealthCheckConfig withPath(String newPath) {
        return new HealthCheckConfig(newPath, interval, timeout, rise, fall);
    }

    public HealthCheckConfig withInterval(Duration newInterval) {
        return new HealthCheckConfig(path, newInterval, timeout, rise, fall);
    }
}
