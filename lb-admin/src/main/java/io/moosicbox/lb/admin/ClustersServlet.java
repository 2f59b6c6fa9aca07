package io.moosicbox.lb.admin;

import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.server.LoadBalancer;
import io.moosicbox.lb.server.Topology;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code GET /api/clusters}: every cluster with its routes, algorithm and backends (what the dashboard shows). */
final class ClustersServlet extends HttpServlet {
    private final LoadBalancer lb;
    private final BackendView view;

    ClustersServlet(LoadBalancer lb, BackendView view) {
        this.lb = lb;
        this.view = view;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        List<Map<String, Object>> clusters = new ArrayList<>();
        List<Topology.Retired> retired = lb.retiredBackends();
        for (Cluster c : lb.clusters()) {
            clusters.add(view.cluster(c, retired));
        }
        Json.write(resp, 200, clusters);
    }
}
