package io.moosicbox.lb.admin;

import io.moosicbox.lb.server.LoadBalancer;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** Configuration reloads (SIGHUP, file watch, {@code POST /api/reload}), counted by the balancer itself. */
final class ReloadMetrics {
    private ReloadMetrics() {}

    static void register(PrometheusRegistry registry, LoadBalancer lb) {
        CounterWithCallback.builder()
                .name("moosicbox_lb_config_reloads")
                .help("Configuration reloads, by result: applied, or refused (the running configuration stayed)")
                .labelNames("result")
                .callback(cb -> {
                    cb.call(lb.reloadsSucceeded(), "applied");
                    cb.call(lb.reloadsFailed(), "refused");
                })
                .register(registry);
    }
}
