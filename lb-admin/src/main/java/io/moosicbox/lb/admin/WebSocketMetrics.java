package io.moosicbox.lb.admin;

import io.moosicbox.lb.server.LoadBalancer;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** Open WebSocket sessions per backend, read from the bridge at scrape time. */
final class WebSocketMetrics {
    private WebSocketMetrics() {}

    static void register(PrometheusRegistry registry, LoadBalancer lb, ListedBackends listed) {
        GaugeWithCallback.builder()
                .name("moosicbox_lb_websocket_sessions")
                .help("Proxied WebSocket sessions open now (each also counts in moosicbox_lb_backend_inflight)")
                .labelNames("cluster", "backend")
                .callback(cb -> listed.forEach((c, b) -> cb.call(lb.webSockets().openSessions(b), c, b.address())))
                .register(registry);
    }
}
