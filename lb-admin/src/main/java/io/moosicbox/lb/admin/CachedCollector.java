package io.moosicbox.lb.admin;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Duration;

/**
 * Serves another registry's metrics from a snapshot at most {@code maxAge} old. The JVM and
 * process metrics cost milliseconds per scrape (thread dumps for thread states and deadlocks, a
 * walk of /proc): under a storm of concurrent scrapes they are collected once per interval and
 * shared, while the balancer's own metrics stay live.
 */
final class CachedCollector implements MultiCollector {
    private final PrometheusRegistry source;
    private final long maxAgeNanos;
    private MetricSnapshots snapshot;
    private long takenAt;

    CachedCollector(PrometheusRegistry source, Duration maxAge) {
        this.source = source;
        this.maxAgeNanos = maxAge.toNanos();
    }

    @Override
    public synchronized MetricSnapshots collect() {
        long now = System.nanoTime();
        if (snapshot == null || now - takenAt > maxAgeNanos) {
            snapshot = source.scrape();
            takenAt = now;
        }
        return snapshot;
    }
}
