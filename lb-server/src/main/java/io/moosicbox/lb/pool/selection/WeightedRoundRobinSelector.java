package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.RequestInfo;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Smooth weighted round robin, as nginx does it: every pick, each candidate's current weight
 * grows by its weight, the largest wins and drops by the total. Weights 3:1 give a b a a, spread
 * out rather than a a a b. Slow start lowers a backend's weight while it ramps up.
 */
public final class WeightedRoundRobinSelector implements Selector {
    private final List<Backend> all;
    private final Map<Backend, Integer> index = new IdentityHashMap<>();
    private final double[] current;

    /** @param all every backend of the cluster; candidates are always some of them */
    public WeightedRoundRobinSelector(List<Backend> all) {
        this.all = List.copyOf(all);
        for (int i = 0; i < this.all.size(); i++) {
            index.put(this.all.get(i), i);
        }
        this.current = new double[this.all.size()];
    }

    @Override
    public synchronized Backend select(List<Backend> candidates, RequestInfo request) {
        int n = candidates.size();
        if (n == 1) {
            return candidates.get(0);
        }
        // When every backend is a candidate (the usual case), positions match and no lookup is needed.
        boolean aligned = n == all.size();
        double total = 0;
        int best = -1;
        Backend winner = null;
        for (int i = 0; i < n; i++) {
            Backend b = candidates.get(i);
            int slot = aligned && all.get(i) == b ? i : slotOf(b);
            double w = b.effectiveWeight();
            current[slot] += w;
            total += w;
            if (best < 0 || current[slot] > current[best]) {
                best = slot;
                winner = b;
            }
        }
        current[best] -= total;
        return winner;
    }

    private int slotOf(Backend b) {
        Integer slot = index.get(b);
        if (slot == null) {
            throw new IllegalArgumentException(b + " is not a backend of this cluster");
        }
        return slot;
    }
}
