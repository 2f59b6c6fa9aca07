package io.moosicbox.lb.config;

import java.time.Duration;

/**
 * How a cluster treats its backends beyond picking one: retries, the queue at {@code max_conns},
 * passive health, slow start, and the hash key of {@code consistent_hash}.
 *
 * @param retries           how many more backends a failed request may try
 * @param queueSize         requests that may wait for a backend at its {@code max_conns}; beyond, 503
 * @param queueTimeout      how long such a request waits before 503
 * @param slowStart         how long a recovered or new backend takes to reach its full share (0: at once)
 * @param hashKey           {@code client_ip}, {@code header:NAME} or {@code cookie:NAME}
 */
public record PoolSettings(int retries, int queueSize, Duration queueTimeout, Duration slowStart, String hashKey) {
    public static PoolSettings defaults() {
        return new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip");
    }
}
