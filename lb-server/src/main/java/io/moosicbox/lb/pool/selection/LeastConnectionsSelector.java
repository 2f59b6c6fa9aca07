package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.RequestInfo;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The candidate with the fewest requests in flight per unit of weight. The scan starts at a
 * rotating position, so that ties (an idle cluster) are broken round robin.
 */
public final class LeastConnectionsSelector implements Selector {
    private final AtomicInteger next = new AtomicInteger();

    @Override
    public Backend select(List<Backend> candidates, RequestInfo request) {
        int n = candidates.size();
        int start = Math.floorMod(next.getAndIncrement(), n);
        Backend best = null;
        double bestLoad = Double.MAX_VALUE;
        for (int k = 0; k < n; k++) {
            int i = start + k;
            Backend b = candidates.get(i < n ? i : i - n);
            double load = b.inflight() / b.effectiveWeight();
            if (load < bestLoad) {
                bestLoad = load;
                best = b;
            }
        }
        return best;
    }
}
