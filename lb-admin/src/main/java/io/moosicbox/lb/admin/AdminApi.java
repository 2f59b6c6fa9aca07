package io.moosicbox.lb.admin;

import io.moosicbox.lb.server.LoadBalancer;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;

/** Installs the admin endpoints on the balancer's admin listener. */
public final class AdminApi {
    private AdminApi() {}

    public static void install(LoadBalancer lb) {
        ServletContextHandler context = lb.adminContext();
        context.addServlet(new ServletHolder("health", new HealthServlet()), "/health");
        context.addServlet(new ServletHolder("ready", new ReadyServlet(lb)), "/ready");
    }
}
