package io.moosicbox.lb.admin;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.server.Topology;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The backends the admin API lists: those of the live clusters, and those a reload or DNS took
 * out while they still drain. A backend's metrics series live exactly as long as it is listed
 * here, so that a rollout's pod addresses do not pile up in {@code /metrics} until a restart.
 */
final class ListedBackends {
    interface Visitor {
        void visit(String cluster, Backend backend);
    }

    private final Supplier<List<Cluster>> clusters;
    private final Supplier<List<Topology.Retired>> retired;

    ListedBackends(Supplier<List<Cluster>> clusters, Supplier<List<Topology.Retired>> retired) {
        this.clusters = clusters;
        this.retired = retired;
    }

    List<Cluster> clusters() {
        return clusters.get();
    }

    /**
     * Visits each listed (cluster, address) once. An address taken out and added back while the
     * old one still drains is two backends under one label set: the live one speaks for it.
     */
    void forEach(Visitor visitor) {
        Set<String> seen = new HashSet<>();
        for (Cluster c : clusters.get()) {
            for (Backend b : c.backends()) {
                seen.add(key(c.name(), b.address()));
                visitor.visit(c.name(), b);
            }
        }
        for (Topology.Retired r : retired.get()) {
            if (seen.add(key(r.cluster().name(), r.backend().address()))) {
                visitor.visit(r.cluster().name(), r.backend());
            }
        }
    }

    /** The (cluster, address) keys of {@link #forEach}, and the live cluster names alone (with no backend). */
    Set<String> keys() {
        Set<String> keys = new HashSet<>();
        forEach((cluster, b) -> keys.add(key(cluster, b.address())));
        for (Cluster c : clusters.get()) {
            keys.add(key(c.name(), ""));
        }
        keys.add(key("", ""));
        return keys;
    }

    static String key(String cluster, String backend) {
        return cluster + '\0' + backend;
    }
}
