package io.moosicbox.lb.admin;

import io.moosicbox.lb.server.LoadBalancer;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
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
        // As Prometheus' own prometheus_config_last_reload_successful: a refused SIGHUP or file-watch
        // reload stays visible until a reload is applied, where the counter's increase fades.
        GaugeWithCallback.builder()
                .name("moosicbox_lb_config_last_reload_successful")
                .help("1 when the last reload was applied (or none was tried since the start), 0 when it was refused:"
                        + " the configuration file is not what runs, and a restart would refuse it")
                .callback(cb -> cb.call(lb.lastReloadSucceeded() ? 1 : 0))
                .register(registry);
        GaugeWithCallback.builder()
                .name("moosicbox_lb_config_last_reload_success_timestamp_seconds")
                .help("When the running configuration was loaded: the start, or the last applied reload")
                .callback(cb -> cb.call(lb.lastReloadSuccessMillis() / 1000.0))
                .register(registry);
    }
}
