package io.moosicbox.lb.admin;

import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.proxy.ExchangeListener;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * The balancer's Prometheus metrics. Per-request metrics are fed by {@link #onComplete} on the
 * request thread: label sets are bound once per (cluster, backend) and cached, so a request costs
 * two map lookups and a few atomic adds, no allocation and no lock. Everything the backends keep
 * themselves (state, in-flight, their counters) is read at scrape time by callbacks.
 */
final class LbMetrics implements ExchangeListener {
    static final String[] METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};
    /** Index 0: the connection ended before any status was sent. */
    static final String[] CODES = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    private static final double[] DURATION_BUCKETS = {
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800};
    private static final double[] UPSTREAM_BUCKETS = {
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private static final double[] SESSION_BUCKETS = {1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400};

    private final Counter requests;
    private final Counter cut;
    private final Counter sessionsEnded;
    private final Histogram sessionDuration;
    private final Histogram duration;
    private final Histogram upstream;
    /** cluster name, then backend address; "" stands for "none" (no route, no backend). */
    private final Map<String, Map<String, Series>> series = new ConcurrentHashMap<>();
    /** Per cluster, what the series {@link #prune} ended had counted: a cluster's totals never go back. */
    private final Map<String, Totals> ended = new ConcurrentHashMap<>();

    /** What clients got: responses, those with a 5xx, and the seconds they took. */
    record Totals(long responses, long responses5xx, double responseSeconds) {
        static final Totals NONE = new Totals(0, 0, 0);

        Totals plus(Totals o) {
            return new Totals(responses + o.responses, responses5xx + o.responses5xx, responseSeconds + o.responseSeconds);
        }
    }

    LbMetrics(PrometheusRegistry registry, ListedBackends listed) {
        requests = Counter.builder()
                .name("moosicbox_lb_requests")
                .help("Client requests answered, by cluster, backend (empty: none was picked), method and status class")
                .labelNames("cluster", "backend", "method", "code")
                .withoutExemplars()
                .register(registry);
        cut = Counter.builder()
                .name("moosicbox_lb_requests_cut")
                .help("Client requests whose response ended before it was complete, by who cut it: client, backend or shutdown")
                .labelNames("cluster", "backend", "by")
                .withoutExemplars()
                .register(registry);
        duration = Histogram.builder()
                .name("moosicbox_lb_request_duration_seconds")
                .help("From the arrival of a client request to the end of its response")
                .unit(Unit.SECONDS)
                .labelNames("cluster", "backend")
                .classicOnly()
                .classicUpperBounds(DURATION_BUCKETS)
                .withoutExemplars()
                .register(registry);
        upstream = Histogram.builder()
                .name("moosicbox_lb_upstream_response_headers_seconds")
                .help("From sending a request to the backend until its response headers arrived")
                .unit(Unit.SECONDS)
                .labelNames("cluster", "backend")
                .classicOnly()
                .classicUpperBounds(UPSTREAM_BUCKETS)
                .withoutExemplars()
                .register(registry);
        sessionsEnded = Counter.builder()
                .name("moosicbox_lb_websocket_sessions_ended")
                .help("Proxied WebSocket sessions that ended, by who ended them: complete (a close frame from either end), client, backend or shutdown")
                .labelNames("cluster", "backend", "end")
                .withoutExemplars()
                .register(registry);
        sessionDuration = Histogram.builder()
                .name("moosicbox_lb_websocket_session_duration_seconds")
                .help("From the arrival of a WebSocket handshake to the end of its session")
                .unit(Unit.SECONDS)
                .labelNames("cluster", "backend")
                .classicOnly()
                .classicUpperBounds(SESSION_BUCKETS)
                .withoutExemplars()
                .register(registry);
        registerBackendMetrics(registry, listed);
    }

    private static void registerBackendMetrics(PrometheusRegistry registry, ListedBackends listed) {
        Supplier<List<Cluster>> clusters = listed::clusters;
        GaugeWithCallback.builder()
                .name("moosicbox_lb_backend_inflight")
                .help("Requests and WebSocket sessions in flight on the backend")
                .labelNames("cluster", "backend")
                .callback(cb -> listed.forEach((c, b) -> cb.call(b.inflight(), c, b.address())))
                .register(registry);
        GaugeWithCallback.builder()
                .name("moosicbox_lb_backend_up")
                .help("1 when the backend takes new requests (state UP), else 0")
                .labelNames("cluster", "backend")
                .callback(cb -> listed.forEach((c, b) -> cb.call(b.isAvailable() ? 1 : 0, c, b.address())))
                .register(registry);
        GaugeWithCallback.builder()
                .name("moosicbox_lb_backend_state")
                .help("1 for the backend's current state, 0 for the others")
                .labelNames("cluster", "backend", "state")
                .callback(cb -> listed.forEach((c, b) -> {
                    BackendState current = b.state();
                    for (BackendState s : BackendState.values()) {
                        cb.call(s == current ? 1 : 0, c, b.address(), s.name());
                    }
                }))
                .register(registry);
        GaugeWithCallback.builder()
                .name("moosicbox_lb_backend_weight")
                .help("The backend's configured weight")
                .labelNames("cluster", "backend")
                .callback(cb -> listed.forEach((c, b) -> cb.call(b.weight(), c, b.address())))
                .register(registry);
        GaugeWithCallback.builder()
                .name("moosicbox_lb_cluster_available_backends")
                .help("Backends of the cluster that take new requests")
                .labelNames("cluster")
                .callback(cb -> {
                    for (Cluster c : clusters.get()) {
                        cb.call(c.available().size(), c.name());
                    }
                })
                .register(registry);
        GaugeWithCallback.builder()
                .name("moosicbox_lb_cluster_queued")
                .help("Requests waiting now for a backend below its max_conns")
                .labelNames("cluster")
                .callback(cb -> {
                    for (Cluster c : clusters.get()) {
                        cb.call(c.queued(), c.name());
                    }
                })
                .register(registry);
        clusterCounter(registry, clusters, "moosicbox_lb_cluster_queue_waits",
                "Requests that waited because every ready backend was at its max_conns", Cluster::queueWaits);
        clusterCounter(registry, clusters, "moosicbox_lb_cluster_queue_rejections",
                "Requests answered 503 at once because the wait queue was full", Cluster::queueRejections);
        clusterCounter(registry, clusters, "moosicbox_lb_cluster_queue_timeouts",
                "Requests answered 503 because no backend freed a slot within the queue timeout", Cluster::queueTimeouts);
        for (BackendCounters.Counter counter : BackendCounters.ALL) {
            CounterWithCallback.builder()
                    .name(counter.metricName())
                    .help(counter.help())
                    .labelNames("cluster", "backend")
                    .callback(cb -> listed.forEach(
                            (c, b) -> cb.call(counter.value().applyAsLong(b), c, b.address())))
                    .register(registry);
        }
    }

    private static void clusterCounter(PrometheusRegistry registry, Supplier<List<Cluster>> clusters, String name,
                                       String help, java.util.function.ToLongFunction<Cluster> value) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames("cluster")
                .callback(cb -> {
                    for (Cluster c : clusters.get()) {
                        cb.call(value.applyAsLong(c), c.name());
                    }
                })
                .register(registry);
    }

    @Override
    public void onComplete(Exchange e) {
        Series s = series(e.cluster(), e.backend());
        s.requests(methodIndex(e.method()), codeIndex(e.status())).inc();
        s.duration.observe(e.durationNanos() / 1e9);
        if (e.end() != Exchange.End.COMPLETE) {
            s.cut(e.end()).inc();
        }
        if (e.upstreamNanos() >= 0) {
            s.upstream.observe(e.upstreamNanos() / 1e9);
        }
    }

    /** Sessions end rarely: their data points are looked up each time rather than cached. */
    @Override
    public void onSessionEnd(Exchange session) {
        // Through the series map, so that prune() knows this (cluster, backend) has data points to end.
        Series s = series(session.cluster(), session.backend());
        sessionsEnded.labelValues(s.cluster, s.backend, session.end().label()).inc();
        sessionDuration.labelValues(s.cluster, s.backend).observe(session.durationNanos() / 1e9);
    }

    /**
     * Ends the series of every (cluster, backend) no longer listed, and of clusters no longer
     * configured; called before each scrape. A report that arrives after its backend drained
     * (the lease is released before the client's response ends) binds its series again: the
     * next scrape ends it again.
     */
    void prune(ListedBackends listed) {
        Set<String> keep = listed.keys();
        series.forEach((cluster, byBackend) -> {
            for (String backend : byBackend.keySet()) {
                if (!keep.contains(ListedBackends.key(cluster, backend))) {
                    // Under the map's lock for the key: a request binding it anew waits, then binds fresh data points.
                    byBackend.computeIfPresent(backend, (k, s) -> {
                        ended.merge(cluster, s.totals(), Totals::plus);
                        List<String> labels = List.of(cluster, backend);
                        requests.removeIf(l -> l.subList(0, 2).equals(labels));
                        cut.removeIf(l -> l.subList(0, 2).equals(labels));
                        duration.remove(cluster, backend);
                        upstream.remove(cluster, backend);
                        sessionsEnded.removeIf(l -> l.subList(0, 2).equals(labels));
                        sessionDuration.remove(cluster, backend);
                        return null;
                    });
                }
            }
        });
        // Every listed backend's cut and ended-session series start at 0: a series born at 1 shows no
        // increase() in Prometheus, so the README's alerts on by="backend" and end="backend" missed
        // each backend's first.
        listed.forEach((cluster, b) -> {
            for (Exchange.End end : CUT_ENDS) {
                cut.labelValues(cluster, b.address(), end.label());
            }
            for (Exchange.End end : Exchange.End.values()) {
                sessionsEnded.labelValues(cluster, b.address(), end.label());
            }
            sessionDuration.labelValues(cluster, b.address());
        });
        // Those of a backend that left before any request of it ended (no series above to remove them with).
        java.util.function.Function<List<String>, Boolean> unbound = l -> !keep.contains(ListedBackends.key(l.get(0), l.get(1)))
                && (series.get(l.get(0)) == null || series.get(l.get(0)).get(l.get(1)) == null);
        cut.removeIf(unbound);
        sessionsEnded.removeIf(unbound);
        sessionDuration.removeIf(unbound);
    }

    private static final List<Exchange.End> CUT_ENDS =
            java.util.Arrays.stream(Exchange.End.values()).filter(e -> e != Exchange.End.COMPLETE).toList();

    /**
     * Everything the cluster answered, with or without a backend (a 503 when none was available
     * counts here, in no backend's series), including backends that have left.
     */
    Totals clusterTotals(String cluster) {
        Totals t = ended.getOrDefault(cluster, Totals.NONE);
        Map<String, Series> byBackend = series.get(cluster);
        if (byBackend != null) {
            for (Series s : byBackend.values()) {
                t = t.plus(s.totals());
            }
        }
        return t;
    }

    /** What this process answered with the backend last tried, for the dashboard; null before the first. */
    Series find(String cluster, String backend) {
        Map<String, Series> byBackend = series.get(cluster);
        return byBackend == null ? null : byBackend.get(backend);
    }

    private Series series(String cluster, String backend) {
        String c = cluster == null ? "" : cluster;
        String b = backend == null ? "" : backend;
        Map<String, Series> byBackend = series.get(c);
        if (byBackend == null) {
            byBackend = series.computeIfAbsent(c, k -> new ConcurrentHashMap<>());
        }
        Series s = byBackend.get(b);
        if (s == null) {
            s = byBackend.computeIfAbsent(b, k -> new Series(c, k));
        }
        return s;
    }

    static int methodIndex(String method) {
        return switch (method) {
            case "GET" -> 0;
            case "HEAD" -> 1;
            case "POST" -> 2;
            case "PUT" -> 3;
            case "DELETE" -> 4;
            case "PATCH" -> 5;
            case "OPTIONS" -> 6;
            // Methods are case-sensitive, but the proxy sends them upper-cased: "get" went out as GET.
            default -> method.chars().anyMatch(Character::isLowerCase) ? methodIndex(method.toUpperCase(java.util.Locale.ROOT)) : 7;
        };
    }

    static int codeIndex(int status) {
        int c = status / 100;
        return c >= 1 && c <= 5 ? c : 0;
    }

    /** The data points of one (cluster, backend), bound once. */
    final class Series {
        private final String cluster;
        private final String backend;
        /** Bound on first use: most method and status combinations never happen. */
        private final AtomicReferenceArray<CounterDataPoint> requestPoints = new AtomicReferenceArray<>(METHODS.length * CODES.length);
        private final AtomicReferenceArray<CounterDataPoint> cutPoints = new AtomicReferenceArray<>(Exchange.End.values().length);
        private final DistributionDataPoint duration;
        private final DistributionDataPoint upstream;

        Series(String cluster, String backend) {
            this.cluster = cluster;
            this.backend = backend;
            this.duration = LbMetrics.this.duration.labelValues(cluster, backend);
            this.upstream = LbMetrics.this.upstream.labelValues(cluster, backend);
        }

        CounterDataPoint requests(int method, int code) {
            int i = method * CODES.length + code;
            CounterDataPoint p = requestPoints.get(i);
            if (p == null) {
                // A race binds the same data point twice: labelValues returns the one already registered.
                p = requests.labelValues(cluster, backend, METHODS[method], CODES[code]);
                requestPoints.set(i, p);
            }
            return p;
        }

        CounterDataPoint cut(Exchange.End end) {
            CounterDataPoint p = cutPoints.get(end.ordinal());
            if (p == null) {
                p = cut.labelValues(cluster, backend, end.label());
                cutPoints.set(end.ordinal(), p);
            }
            return p;
        }

        long responses() {
            return duration.getCount();
        }

        double responseSecondsSum() {
            return duration.getSum();
        }

        Totals totals() {
            return new Totals(responses(), responses5xx(), responseSecondsSum());
        }

        long responses5xx() {
            long n = 0;
            for (int m = 0; m < METHODS.length; m++) {
                CounterDataPoint p = requestPoints.get(m * CODES.length + 5);
                if (p != null) {
                    n += p.getLongValue();
                }
            }
            return n;
        }
    }
}
