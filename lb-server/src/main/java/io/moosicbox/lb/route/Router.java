package io.moosicbox.lb.route;

import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.pool.Cluster;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Maps a request's host and path to a cluster: exact host, then the longest {@code *.suffix}
 * wildcard, then {@code *}; within the host, the longest path prefix on a segment boundary.
 * ACME HTTP-01 challenges go to the cluster named {@value #SOLVER} whatever the host, as the
 * MoosicBox balancer does. Immutable; a reload builds a new router and swaps it in.
 */
public final class Router {
    /** The cluster that answers ACME HTTP-01 challenges (cert-manager's solver pod, certbot). */
    public static final String SOLVER = ClusterConfig.SOLVER_NAME;
    public static final String ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

    /** Why a request found no cluster; the proxy turns it into a status. */
    /** Why no cluster matched, and what the client is answered. */
    public enum Miss {
        UNKNOWN_HOST(421, "no route for this host"),
        NO_PATH(404, "no route for this path");

        private final int status;
        private final String reason;

        Miss(int status, String reason) {
            this.status = status;
            this.reason = reason;
        }

        public int status() {
            return status;
        }

        public String reason() {
            return reason;
        }
    }

    /** @param cluster null on a miss */
    public record Route(Cluster cluster, Miss miss) {}

    private static final Route UNKNOWN_HOST = new Route(null, Miss.UNKNOWN_HOST);
    private static final Route NO_PATH = new Route(null, Miss.NO_PATH);

    /** One path prefix, without its trailing slash (the root is ""), and where it leads. */
    private record Prefix(String prefix, Route route) {
        boolean matches(String path) {
            return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
        }
    }

    /** Path prefixes of one host, longest first. */
    private record PathTable(Prefix[] prefixes) {
        Route match(String path) {
            for (Prefix p : prefixes) {
                if (p.matches(path)) {
                    return p.route();
                }
            }
            return null;
        }
    }

    private final Map<String, PathTable> exact = new HashMap<>();
    private final List<Map.Entry<String, PathTable>> wildcards = new ArrayList<>();
    private final PathTable fallback;
    private final Route solver;
    private final List<Cluster> clusters;

    /** @param clusters with hosts and paths already validated; a cluster with no hosts takes any host */
    public Router(List<Cluster> clusters) {
        this.clusters = List.copyOf(clusters);
        Map<String, Map<String, Route>> byHost = new LinkedHashMap<>();
        Route solverRoute = null;
        for (Cluster c : clusters) {
            Route route = new Route(c, null);
            if (c.name().equals(SOLVER)) {
                solverRoute = route;
                if (c.config().hosts().isEmpty()) {
                    // Routed by its challenge path whatever the host; under "*" it became the fallback
                    // of unknown hosts, which then got 404 instead of 421.
                    continue;
                }
            }
            List<String> hosts = c.config().hosts().isEmpty() ? List.of("*") : c.config().hosts();
            List<String> paths = c.config().paths().isEmpty() ? List.of("/") : c.config().paths();
            for (String host : hosts) {
                Map<String, Route> table = byHost.computeIfAbsent(normaliseHost(host), h -> new LinkedHashMap<>());
                for (String path : paths) {
                    // The first cluster to claim a host and path keeps it; validation reports the duplicate.
                    table.putIfAbsent(normalisePrefix(path), route);
                }
            }
        }
        this.solver = solverRoute;
        PathTable star = null;
        for (Map.Entry<String, Map<String, Route>> e : byHost.entrySet()) {
            Prefix[] prefixes = e.getValue().entrySet().stream()
                    .map(p -> new Prefix(p.getKey(), p.getValue()))
                    .sorted(Comparator.comparingInt((Prefix p) -> p.prefix().length()).reversed())
                    .toArray(Prefix[]::new);
            PathTable table = new PathTable(prefixes);
            String host = e.getKey();
            if (host.equals("*")) {
                star = table;
            } else if (host.startsWith("*.")) {
                wildcards.add(Map.entry(host.substring(1), table));
            } else {
                exact.put(host, table);
            }
        }
        wildcards.sort(Comparator.comparingInt((Map.Entry<String, PathTable> w) -> w.getKey().length()).reversed());
        this.fallback = star;
    }

    public List<Cluster> clusters() {
        return clusters;
    }

    /** The cluster named {@code name}, or null. */
    public Cluster cluster(String name) {
        for (Cluster c : clusters) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }

    /**
     * Whether the path is an ACME HTTP-01 challenge. Such requests are answered over plain HTTP
     * even when plain HTTP otherwise redirects to HTTPS: the CA only ever asks on port 80.
     */
    public static boolean isAcmeChallenge(String path) {
        return path != null && path.startsWith(ACME_CHALLENGE_PREFIX);
    }

    /** Whether there is a {@value #SOLVER} cluster to take ACME challenges. */
    public boolean hasSolver() {
        return solver != null;
    }

    /**
     * @param host the Host header or authority, any case, with or without a port; may be null
     * @param path the request path, starting with /; or {@code *}, the asterisk form of OPTIONS
     */
    public Route route(String host, String path) {
        if (solver != null && isAcmeChallenge(path)) {
            return solver;
        }
        PathTable table = tableFor(host == null ? "" : normaliseHost(host));
        if (table == null) {
            return UNKNOWN_HOST;
        }
        Route r = table.match(path);
        if (r == null && table != fallback && fallback != null) {
            // A host with routes for some paths still reaches the fallback for the others.
            r = fallback.match(path);
        }
        if (r == null && "*".equals(path)) {
            // OPTIONS * (RFC 9112 3.2.4) asks about the server, not a resource: it goes where the host's
            // root goes, as HAProxy sends it to the host's backend. Checked on a miss only.
            return route(host, "/");
        }
        return r != null ? r : NO_PATH;
    }

    private PathTable tableFor(String host) {
        PathTable t = exact.get(host);
        if (t != null) {
            return t;
        }
        for (Map.Entry<String, PathTable> w : wildcards) {
            if (host.endsWith(w.getKey()) && host.length() > w.getKey().length()) {
                return w.getValue();
            }
        }
        return fallback;
    }

    /** Lower case, without port or trailing dot; IPv6 literals keep their brackets. */
    public static String normaliseHost(String host) {
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 ? h.substring(0, end + 1) : h;
        }
        int colon = h.indexOf(':');
        if (colon >= 0) {
            h = h.substring(0, colon);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h;
    }

    /** {@code /api/} and {@code /api} are the same prefix: {@code /api} and {@code /api/x}, never {@code /apix}. */
    public static String normalisePrefix(String prefix) {
        String p = prefix.trim();
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }
}
