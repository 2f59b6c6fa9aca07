package io.moosicbox.lb.admin;

import io.prometheus.metrics.exporter.servlet.jakarta.PrometheusMetricsServlet;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * {@code GET /metrics}: the Prometheus client's servlet, after ending the request series of
 * backends that left. Pruning on scrape rather than on reload catches the moment a retired
 * backend finishes draining, which no event announces.
 */
final class MetricsServlet extends PrometheusMetricsServlet {
    private final transient LbMetrics metrics;
    private final transient ListedBackends listed;

    MetricsServlet(PrometheusRegistry registry, LbMetrics metrics, ListedBackends listed) {
        super(registry);
        this.metrics = metrics;
        this.listed = listed;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        metrics.prune(listed);
        super.doGet(req, resp);
    }
}
