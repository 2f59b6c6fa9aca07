package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.Backend;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** The algorithms by the names users write in {@code LB_ALGORITHM} and the file. */
public final class Selectors {
    private static final Map<String, Function<List<Backend>, Selector>> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("round_robin", backends -> new RoundRobinSelector());
    }

    private Selectors() {}

    public static boolean isKnown(String name) {
        return FACTORIES.containsKey(name);
    }

    public static List<String> names() {
        return List.copyOf(FACTORIES.keySet());
    }

    /** @param backends every backend of the cluster, for algorithms that precompute (such as a hash ring) */
    public static Selector create(String name, List<Backend> backends) {
        Function<List<Backend>, Selector> factory = FACTORIES.get(name);
        if (factory == null) {
            throw new IllegalArgumentException("unknown algorithm '" + name + "'; expected one of " + names());
        }
        return factory.apply(backends);
    }
}
