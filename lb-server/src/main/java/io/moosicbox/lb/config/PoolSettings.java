package io.moosicbox.lb.config;

import io.moosicbox.lb.pool.selection.HashKey;
import java.time.Duration;

/**
 * How a cluster treats its backends beyond picking one: retries, the queue at {@code max_conns},
 * passive health, slow start, and the hash key of {@code consistent_hash}.
 *
 * @param retries            how many more backends a failed request may try
 * @param queueSize          requests that may wait for a backend at its {@code max_conns}; beyond, 503
 * @param queueTimeout       how long such a request waits before 503
 * @param slowStart          how long a recovered or new backend takes to reach its full share (0: at once)
 * @param hashKey            {@code client_ip}, {@code header:NAME} or {@code cookie:NAME}
 * @param ejectAfter         consecutive backend failures (connect errors, timeouts) that eject it; 0: never
 * @param ejectTime          how long the first ejection lasts; it doubles while the backend keeps failing
 * @param ejectOn5xx         whether a 5xx answer counts as a failure for ejection
 * @param checkBeforeTraffic whether a new backend waits for its first passing health check before it gets traffic
 */
public record PoolSettings(int retries, int queueSize, Duration queueTimeout, Duration slowStart, String hashKey,
                           int ejectAfter, Duration ejectTime, boolean ejectOn5xx, boolean checkBeforeTraffic) {

    public PoolSettings {
        if (retries < 0 || queueSize < 0 || ejectAfter < 0) {
            throw new IllegalArgumentException("retries, queue size and eject_after must not be negative");
        }
        if (queueTimeout.isNegative() || slowStart.isNegative() || ejectTime.isNegative()) {
            throw new IllegalArgumentException("queue timeout, slow start and eject time must not be negative");
        }
        HashKey.parse(hashKey);
    }

    /** The settings the pools work started with; the others take their defaults. */
    public PoolSettings(int retries, int queueSize, Duration queueTimeout, Duration slowStart, String hashKey) {
        this(retries, queueSize, queueTimeout, slowStart, hashKey, 5, Duration.ofSeconds(10), false, false);
    }

    public static PoolSettings defaults() {
        return new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip");
    }
}
