package io.moosicbox.lb.admin;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.server.LoadBalancer;
import io.moosicbox.lb.server.Topology;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/backends}, {@code GET /api/backends/{address}} and
 * {@code POST /api/backends/{address}/drain|enable|disable[?cluster=NAME]}.
 */
final class BackendsServlet extends HttpServlet implements PathMethods {
    private static final Logger LOG = LoggerFactory.getLogger(BackendsServlet.class);
    private static final List<String> ACTIONS = List.of("drain", "enable", "disable");

    private final LoadBalancer lb;
    private final BackendView view;
    private final AdminAuth auth;

    BackendsServlet(LoadBalancer lb, BackendView view, AdminAuth auth) {
        this.lb = lb;
        this.view = view;
        this.auth = auth;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String[] parts = parts(req);
        if (parts.length == 0) {
            List<Map<String, Object>> all = view.backends(lb.clusters());
            for (Topology.Retired r : lb.retiredBackends()) {
                all.add(view.retired(r));
            }
            Json.write(resp, 200, all);
            return;
        }
        if (parts.length == 2 && ACTIONS.contains(parts[1])) {
            Json.error(resp, 405, parts[1] + " is a change: use POST");
            return;
        }
        if (parts.length != 1) {
            Json.error(resp, 404, "no such endpoint: " + req.getRequestURI());
            return;
        }
        List<Map<String, Object>> found = new ArrayList<>();
        for (Cluster c : lb.clusters()) {
            Backend b = c.find(parts[0]);
            if (b != null) {
                found.add(view.backend(c, b));
            }
        }
        for (Topology.Retired r : lb.retiredBackends()) {
            if (r.backend().address().equals(parts[0])) {
                found.add(view.retired(r));
            }
        }
        if (found.isEmpty()) {
            Json.error(resp, 404, "no backend " + parts[0]);
            return;
        }
        Json.write(resp, 200, found);
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String[] parts = parts(req);
        if (parts.length != 2) {
            if (parts.length <= 1) {
                Json.error(resp, 405, "POST /api/backends/{address}/drain, enable or disable");
            } else {
                Json.error(resp, 404, "no such endpoint: " + req.getRequestURI()
                        + "; changes are POST /api/backends/{address}/drain, enable or disable");
            }
            return;
        }
        String address = parts[0];
        String action = parts[1];
        if (!ACTIONS.contains(action)) {
            Json.error(resp, 404, "unknown action '" + action + "'; expected drain, enable or disable");
            return;
        }
        if (!auth.allowChange(req, resp)) {
            LOG.warn("admin: refused {} of {} from {}", action, address, req.getRemoteAddr());
            return;
        }
        String clusterName = req.getParameter("cluster");
        List<Cluster> matches = new ArrayList<>();
        for (Cluster c : lb.clusters()) {
            if ((clusterName == null || c.name().equals(clusterName)) && c.find(address) != null) {
                matches.add(c);
            }
        }
        if (matches.isEmpty()) {
            Json.error(resp, 404, "no backend " + address + (clusterName == null ? "" : " in cluster " + clusterName));
            return;
        }
        if (matches.size() > 1) {
            List<String> names = matches.stream().map(Cluster::name).toList();
            Json.error(resp, 409, address + " is in several clusters (" + String.join(", ", names)
                    + "): add ?cluster=NAME", "clusters", names);
            return;
        }
        Cluster cluster = matches.get(0);
        Backend backend = cluster.find(address);
        BackendState before = backend.state();
        BackendState target = switch (action) {
            case "drain" -> BackendState.DRAINING;
            case "enable" -> BackendState.UP;
            default -> BackendState.DISABLED;
        };
        // Draining a drained backend would restart nothing: it stays DRAINED.
        if (target == BackendState.UP) {
            backend.enable();
        } else if (!(target == BackendState.DRAINING && before == BackendState.DRAINED)) {
            backend.setState(target);
        }
        if (target == BackendState.UP) {
            awaitCheck(cluster, backend);
        }
        LOG.info("admin: {} {} in cluster {} by {}: {} -> {} ({} in flight)", action, address, cluster.name(),
                auth.who(req), before, backend.state(), backend.inflight());
        Map<String, Object> body = view.backend(cluster, backend);
        body.put("previous_state", before.name());
        Json.write(resp, 200, body);
    }

    /**
     * An enabled backend is checked at once, and the answer waits for that check: a deploy script
     * that enables a server which is not up yet reads DOWN (and the check's error) rather than an
     * UP that sends players to a closed port until {@code fall} checks fail.
     */
    private void awaitCheck(Cluster cluster, Backend backend) {
        // A check already running finishes first (it may have begun before the backend came back).
        Duration within = cluster.config().healthCheck().timeout().multipliedBy(2).plusSeconds(1);
        try {
            lb.checkNow(backend).get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            LOG.warn("admin: the check of enabled backend {} did not end within {}", backend, within);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String allowed(HttpServletRequest req) {
        String[] parts = parts(req);
        if (parts.length <= 1) {
            return "GET, HEAD, OPTIONS";
        }
        return parts.length == 2 && ACTIONS.contains(parts[1]) ? "POST, OPTIONS" : null;
    }

    /** The path after /api/backends, split: [] or [address] or [address, action]. */
    private static String[] parts(HttpServletRequest req) {
        String info = req.getPathInfo();
        if (info == null || info.equals("/")) {
            return new String[0];
        }
        String trimmed = info.substring(1);
        if (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        return trimmed.split("/", -1);
    }
}
