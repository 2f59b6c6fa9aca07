package io.moosicbox.lb.route;

import io.moosicbox.lb.pool.Cluster;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Maps a request's host and path to a cluster: exact host, then the longest {@code *.suffix}
 * wildcard, then {@code *}; within the host, the longest path prefix on a segment boundary.
 * Immutable; a reload builds a new router.
 */
public final class Router {
    /** Path prefixes of one host, longest first. */
    private record PathTable(List<Map.Entry<String, Cluster>> prefixes) {
        Cluster match(String path) {
            for (Map.Entry<String, Cluster> e : prefixes) {
                if (matchesPrefix(path, e.getKey())) {
                    return e.getValue();
                }
            }
            return null;
        }
    }

    /** Why a request found no cluster; the proxy turns it into a status. */
    public enum Miss { UNKNOWN_HOST, NO_PATH }

    /** @param cluster null on a miss */
    public record Route(Cluster cluster, Miss miss) {}

    private final Map<String, PathTable> exact = new HashMap<>();
    private final List<Map.Entry<String, PathTable>> wildcards = new ArrayList<>();
    private final PathTable fallback;
    private final List<Cluster> clusters;

    public Router(List<Cluster> clusters) {
        this.clusters = List.copyOf(clusters);
        Map<String, List<Map.Entry<String, Cluster>>> byHost = new HashMap<>();
        for (Cluster c : clusters) {
            List<String> hosts = c.config().hosts().isEmpty() ? List.of("*") : c.config().hosts();
            List<String> paths = c.config().paths().isEmpty() ? List.of("/") : c.config().paths();
            for (String host : hosts) {
                List<Map.Entry<String, Cluster>> entries = byHost.computeIfAbsent(normaliseHost(host), h -> new ArrayList<>());
                for (String path : paths) {
                    entries.add(Map.entry(path, c));
                }
            }
        }
        PathTable star = null;
        for (Map.Entry<String, List<Map.Entry<String, Cluster>>> e : byHost.entrySet()) {
            List<Map.Entry<String, Cluster>> prefixes = new ArrayList<>(e.getValue());
            prefixes.sort(Comparator.comparingInt((Map.Entry<String, Cluster> p) -> p.getKey().length()).reversed());
            PathTable table = new PathTable(List.copyOf(prefixes));
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

    /**
     * @param host the Host header or authority, any case, with or without a port; may be null
     * @param path the request path, starting with /
     */
    public Route route(String host, String path) {
        PathTable table = tableFor(host == null ? "" : normaliseHost(host));
        if (table == null) {
            return new Route(null, Miss.UNKNOWN_HOST);
        }
        Cluster c = table.match(path);
        if (c == null && table != fallback && fallback != null) {
            // A host with routes for some paths still reaches the fallback for the others.
            c = fallback.match(path);
        }
        return c != null ? new Route(c, null) : new Route(null, Miss.NO_PATH);
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
    static String normaliseHost(String host) {
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

    /** {@code /api/} and {@code /api} both take {@code /api} and {@code /api/x} but not {@code /apix}. */
    static boolean matchesPrefix(String path, String prefix) {
        if (prefix.equals("/")) {
            return true;
        }
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        return path.startsWith(p) && (path.length() == p.length() || path.charAt(p.length()) == '/');
    }
}
