package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/** The algorithms by the names users write in {@code LB_ALGORITHM} and the file. */
public final class Selectors {
    private static final Map<String, BiFunction<List<Backend>, PoolSettings, Selector>> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("round_robin", (backends, pool) -> new RoundRobinSelector());
        FACTORIES.put("weighted_round_robin", (backends, pool) -> new WeightedRoundRobinSelector(backends));
        FACTORIES.put("least_connections", (backends, pool) -> new LeastConnectionsSelector());
        FACTORIES.put("p2c_ewma", (backends, pool) -> new P2cEwmaSelector());
        FACTORIES.put("consistent_hash", (backends, pool) -> new ConsistentHashSelector(backends, HashKey.parse(pool.hashKey())));
    }

    private Selectors() {}

    public static boolean isKnown(String name) {
        return FACTORIES.containsKey(name);
    }

    public static List<String> names() {
        return List.copyOf(FACTORIES.keySet());
    }

    /**
     * @param backends every backend of the cluster, for algorithms that precompute (such as a hash ring)
     * @param pool     the cluster's settings (the hash key of {@code consistent_hash})
     */
    public static Selector create(String name, List<Backend> backends, PoolSettings pool) {
        BiFunction<List<Backend>, PoolSettings, Selector> factory = FACTORIES.get(name);
        if (factory == null) {
            throw new IllegalArgumentException("unknown algorithm '" + name + "'; expected one of " + names());
        }
        return factory.apply(backends, pool);
    }
}
