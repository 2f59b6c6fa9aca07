package io.moosicbox.lb.admin;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.server.Topology;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/** The JSON shapes of {@code /api/backends} and {@code /api/clusters}. */
final class BackendView {
    private final LbMetrics metrics;
    private final ToIntFunction<Backend> webSocketSessions;

    /** @param webSocketSessions the proxied WebSocket sessions open now on a backend */
    BackendView(LbMetrics metrics, ToIntFunction<Backend> webSocketSessions) {
        this.metrics = metrics;
        this.webSocketSessions = webSocketSessions;
    }

    Map<String, Object> backend(Cluster cluster, Backend b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cluster", cluster.name());
        m.put("address", b.address());
        m.put("url", b.baseUrl());
        m.put("state", b.state().name());
        m.put("weight", b.weight());
        m.put("inflight", b.inflight());
        // Part of inflight; a drain closes them after the grace time, where it waits for downloads to end.
        m.put("websocket_sessions", webSocketSessions.applyAsInt(b));
        m.put("max_conns", b.maxConns());
        m.put("last_check", b.lastCheck() == null ? null : b.lastCheck().toString());
        m.put("last_error", b.lastError());
        Map<String, Object> counters = new LinkedHashMap<>();
        for (BackendCounters.Counter c : BackendCounters.ALL) {
            counters.put(c.name(), c.value().applyAsLong(b));
        }
        // What clients got while this backend served them: the dashboard derives rates from these.
        LbMetrics.Series s = metrics.find(cluster.name(), b.address());
        counters.put("responses", s == null ? 0 : s.responses());
        counters.put("responses_5xx", s == null ? 0 : s.responses5xx());
        counters.put("response_seconds_sum", s == null ? 0.0 : s.responseSecondsSum());
        m.put("counters", counters);
        return m;
    }

    List<Map<String, Object>> backends(List<Cluster> clusters) {
        List<Map<String, Object>> all = new ArrayList<>();
        for (Cluster c : clusters) {
            for (Backend b : c.backends()) {
                all.add(backend(c, b));
            }
        }
        return all;
    }

    /**
     * A backend a reload or DNS took out, shown until its last request ends (DRAINING, then gone):
     * a deploy script that removed it can wait for that as for a drain.
     */
    Map<String, Object> retired(Topology.Retired r) {
        Map<String, Object> m = backend(r.cluster(), r.backend());
        m.put("retired", true);
        return m;
    }

    /** @param retired backends taken out of any cluster; those of this one are its {@code leaving} */
    Map<String, Object> cluster(Cluster c, List<Topology.Retired> retired) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", c.name());
        m.put("hosts", c.config().hosts());
        m.put("paths", c.config().paths());
        m.put("algorithm", c.config().algorithm());
        m.put("available_backends", c.available().size());
        LbMetrics.Totals totals = metrics.clusterTotals(c.name());
        Map<String, Object> counters = new LinkedHashMap<>();
        counters.put("responses", totals.responses());
        counters.put("responses_5xx", totals.responses5xx());
        counters.put("response_seconds_sum", totals.responseSeconds());
        m.put("counters", counters);
        List<Map<String, Object>> backends = new ArrayList<>();
        for (Backend b : c.backends()) {
            backends.add(backend(c, b));
        }
        m.put("backends", backends);
        // Not among its backends (scripts count those as the configured ones), but their requests still run.
        List<Map<String, Object>> leaving = new ArrayList<>();
        for (Topology.Retired r : retired) {
            if (r.cluster().name().equals(c.name())) {
                leaving.add(retired(r));
            }
        }
        m.put("leaving", leaving);
        return m;
    }
}
