package io.moosicbox.lb.admin;

import io.moosicbox.lb.proxy.ExchangeListener;
import io.moosicbox.lb.server.LoadBalancer;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import jakarta.servlet.DispatcherType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;

/**
 * Installs the admin listener's endpoints, the Prometheus metrics and the access log on a
 * balancer, before it starts.
 */
public final class AdminApi {
    private AdminApi() {}

    public static void install(LoadBalancer lb) {
        install(lb, "unknown");
    }

    /** @param version the distribution's version, for {@code moosicbox_lb_build_info} */
    public static void install(LoadBalancer lb, String version) {
        PrometheusRegistry registry = new PrometheusRegistry();
        // As Prometheus' *_build_info and HAProxy's haproxy_process_build_info: which version each
        // replica runs, during and after a rollout.
        GaugeWithCallback.builder()
                .name("moosicbox_lb_build_info")
                .help("Always 1; the labels say which version of moosicbox-lb runs, on which Java runtime")
                .labelNames("version", "java")
                .callback(cb -> cb.call(1, version, Runtime.version().toString()))
                .register(registry);
        ListedBackends listed = new ListedBackends(lb::clusters, lb::retiredBackends);
        LbMetrics metrics = new LbMetrics(registry, listed);
        ConnectionMetrics.register(registry, lb.server());
        ReloadMetrics.register(registry, lb);
        TlsMetrics.register(registry, lb);
        WebSocketMetrics.register(registry, lb, listed);
        PrometheusRegistry jvm = new PrometheusRegistry();
        JvmMetrics.builder().register(jvm);
        registry.register(new CachedCollector(jvm, Duration.ofSeconds(1)));

        List<ExchangeListener> listeners = new ArrayList<>();
        listeners.add(metrics);
        if (lb.config().accessLog().enabled()) {
            AccessLog accessLog = new AccessLog(lb.config().accessLog(),
                    lb.config().origins().name("access_log.target", lb.config().accessLog().target(), "ACCESS_LOG"));
            accessLog.registerMetrics(registry);
            lb.server().addBean(accessLog);
            listeners.add(accessLog);
        }
        lb.setExchangeListener(ExchangeListeners.of(listeners));

        AdminAuth auth = new AdminAuth(() -> lb.config().admin().token());
        BackendView view = new BackendView(metrics, lb.webSockets()::openSessions);
        ServletContextHandler context = lb.adminContext();
        context.setErrorHandler(new JsonErrorHandler());
        context.addFilter(new FilterHolder(new AllowHeader(context.getServletHandler())), "/*", EnumSet.of(DispatcherType.REQUEST));
        context.addServlet(new ServletHolder("health", new HealthServlet()), "/health");
        context.addServlet(new ServletHolder("ready", new ReadyServlet(lb)), "/ready");
        context.addServlet(new ServletHolder("metrics", new MetricsServlet(registry, metrics, listed)), "/metrics");
        context.addServlet(new ServletHolder("backends", new BackendsServlet(lb, view, auth)), "/api/backends/*");
        context.addServlet(new ServletHolder("clusters", new ClustersServlet(lb, view)), "/api/clusters");
        context.addServlet(new ServletHolder("reload", new ReloadServlet(lb, auth)), "/api/reload");
        context.addServlet(new ServletHolder("dashboard", new DashboardServlet()), "/");
    }
}
