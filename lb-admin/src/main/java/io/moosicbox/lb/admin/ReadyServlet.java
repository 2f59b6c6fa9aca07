package io.moosicbox.lb.admin;

import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.server.LoadBalancer;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Readiness: 200 when the balancer can serve, 503 with the reason otherwise, so that a
 * Kubernetes Service stops sending traffic before the listener closes.
 */
final class ReadyServlet extends HttpServlet {
    private final LoadBalancer lb;

    ReadyServlet(LoadBalancer lb) {
        this.lb = lb;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        int ready = 0;
        for (Cluster c : lb.clusters()) {
            ready += c.available().size();
        }
        body.put("ready_backends", ready);
        String reason = null;
        if (lb.isShuttingDown()) {
            reason = "shutting down";
        } else if (!lb.server().isStarted()) {
            reason = "starting";
        } else if (ready == 0) {
            reason = "no backend is ready";
        }
        body.put("status", reason == null ? "READY" : "NOT_READY");
        if (reason != null) {
            body.put("reason", reason);
        }
        Json.write(resp, reason == null ? 200 : 503, body);
    }
}
