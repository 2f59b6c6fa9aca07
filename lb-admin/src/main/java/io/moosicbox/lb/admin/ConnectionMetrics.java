package io.moosicbox.lb.admin;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;

/**
 * Client connections (sockets) per listener, counted by a {@link SocketStatistics} attached to
 * every connector (proxy, TLS, admin), labelled by the connector's name.
 */
final class ConnectionMetrics {
    private ConnectionMetrics() {}

    /** Call before the server starts, after every connector was added. */
    static void register(PrometheusRegistry registry, Server server) {
        Map<String, SocketStatistics> byListener = new LinkedHashMap<>();
        for (Connector connector : server.getConnectors()) {
            SocketStatistics stats = new SocketStatistics();
            ((AbstractConnector) connector).addBean(stats);
            byListener.put(connector.getName() == null ? "" : connector.getName(), stats);
        }
        GaugeWithCallback.builder()
                .name("moosicbox_lb_client_connections")
                .help("Client connections open now, per listener")
                .labelNames("listener")
                .callback(cb -> byListener.forEach((name, s) -> cb.call(s.open(), name)))
                .register(registry);
        counter(registry, byListener, "moosicbox_lb_client_connections_opened", "Client connections accepted, per listener",
                SocketStatistics::opened);
        counter(registry, byListener, "moosicbox_lb_client_received_bytes", "Bytes received from clients, per listener",
                SocketStatistics::received);
        counter(registry, byListener, "moosicbox_lb_client_sent_bytes", "Bytes sent to clients, per listener",
                SocketStatistics::sent);
    }

    private static void counter(PrometheusRegistry registry, Map<String, SocketStatistics> byListener, String name,
                                String help, ToLongFunction<SocketStatistics> value) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames("listener")
                .callback(cb -> byListener.forEach((listener, s) -> cb.call(value.applyAsLong(s), listener)))
                .register(registry);
    }
}
