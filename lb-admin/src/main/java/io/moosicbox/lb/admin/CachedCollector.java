package io.moosicbox.lb.admin;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Serves another registry's metrics from a snapshot at most about {@code maxAge} old. The JVM and
 * process metrics cost milliseconds per scrape (thread dumps for thread states and deadlocks, a
 * walk of /proc): under a storm of concurrent scrapes one scraper refreshes the snapshot while
 * the others take the previous one without waiting. The balancer's own metrics stay live.
 */
final class CachedCollector implements MultiCollector {
    private record Taken(MetricSnapshots snapshots, long atNanos) {}

    private final PrometheusRegistry source;
    private final long maxAgeNanos;
    private final AtomicBoolean refreshing = new AtomicBoolean();
    private volatile Taken taken;

    CachedCollector(PrometheusRegistry source, Duration maxAge) {
        this.source = source;
        this.maxAgeNanos = maxAge.toNanos();
    }

    @Override
    public MetricSnapshots collect() {
        Taken t = taken;
        if (t != null && System.nanoTime() - t.atNanos() <= maxAgeNanos) {
            return t.snapshots();
        }
        if (t != null && !refreshing.compareAndSet(false, true)) {
            return t.snapshots();
        }
        try {
            Taken fresh = new Taken(source.scrape(), System.nanoTime());
            taken = fresh;
            return fresh.snapshots();
        } finally {
            if (t != null) {
                refreshing.set(false);
            }
        }
    }
}
