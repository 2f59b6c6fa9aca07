package io.moosicbox.lb.pool;

import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.pool.selection.Selector;
import io.moosicbox.lb.pool.selection.Selectors;
import java.util.ArrayList;
import java.util.List;

/**
 * A named pool of interchangeable backends and the algorithm that picks one per request.
 * Discovery (which backends exist), health (which are usable) and selection (which one now)
 * are separate pieces; this class only joins them.
 */
public final class Cluster {
    private final ClusterConfig config;
    private final List<Backend> backends;
    private final Selector selector;

    public Cluster(ClusterConfig config, List<Backend> backends) {
        this.config = config;
        this.backends = List.copyOf(backends);
        this.selector = Selectors.create(config.algorithm(), this.backends);
    }

    public static Cluster of(ClusterConfig config) {
        return new Cluster(config, config.backends().stream().map(Backend::new).toList());
    }

    public String name() {
        return config.name();
    }

    public ClusterConfig config() {
        return config;
    }

    public List<Backend> backends() {
        return backends;
    }

    public Selector selector() {
        return selector;
    }

    /** @return a backend that takes new requests, or null when none does */
    public Backend pick(RequestInfo request) {
        List<Backend> candidates = available();
        return candidates.isEmpty() ? null : selector.select(candidates, request);
    }

    /** Backends that take new requests, in configuration order. */
    public List<Backend> available() {
        List<Backend> result = new ArrayList<>(backends.size());
        for (Backend b : backends) {
            if (b.isAvailable()) {
                result.add(b);
            }
        }
        return result;
    }

    public Backend find(String address) {
        for (Backend b : backends) {
            if (b.address().equals(address)) {
                return b;
            }
        }
        return null;
    }
}
