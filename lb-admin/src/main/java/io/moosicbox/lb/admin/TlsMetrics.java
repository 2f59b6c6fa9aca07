package io.moosicbox.lb.admin;

import io.moosicbox.lb.server.LoadBalancer;
import io.moosicbox.lb.tls.CertificateInfo;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** When each served certificate expires, read at scrape time so that a renewal shows at once. */
final class TlsMetrics {
    private TlsMetrics() {}

    static void register(PrometheusRegistry registry, LoadBalancer lb) {
        GaugeWithCallback.builder()
                .name("moosicbox_lb_tls_certificate_expiry_timestamp_seconds")
                .help("When the served certificate expires (notAfter), in seconds since the epoch")
                .labelNames("name", "file")
                .callback(cb -> {
                    for (CertificateInfo c : lb.certificates()) {
                        cb.call(c.notAfter().getEpochSecond(), c.name(), c.file());
                    }
                })
                .register(registry);
    }
}
