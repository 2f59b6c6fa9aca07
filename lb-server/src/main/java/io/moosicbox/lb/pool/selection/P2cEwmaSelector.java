package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.RequestInfo;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Power of two random choices, as Envoy and Linkerd do: two distinct random candidates, the one
 * with the lower cost wins. Cost is (in-flight + 1) × average time to response headers, per unit
 * of weight. A backend with no latency sample yet costs nothing while idle (so it gets tried) and
 * a huge amount once busy or failing (so an unknown backend that is not answering, or refuses
 * connections, does not soak up traffic: it would win every pair at zero cost).
 */
public final class P2cEwmaSelector implements Selector {
    /** Cost of a busy backend that has not answered yet; grows with its in-flight count. */
    private static final double UNKNOWN_BUSY_COST = 1e15;

    @Override
    public Backend select(List<Backend> candidates, RequestInfo request) {
        int n = candidates.size();
        if (n == 1) {
            return candidates.get(0);
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int i = random.nextInt(n);
        int j = random.nextInt(n - 1);
        if (j >= i) {
            j++;
        }
        Backend a = candidates.get(i);
        Backend b = candidates.get(j);
        return cost(a) <= cost(b) ? a : b;
    }

    static double cost(Backend b) {
        int inflight = b.inflight();
        double latency = b.latencyEwmaNanos();
        int failing = b.consecutiveFailures();
        double cost = latency == 0
                ? (inflight == 0 && failing == 0 ? 0 : UNKNOWN_BUSY_COST * (inflight + failing))
                : (inflight + 1) * latency;
        return cost / b.effectiveWeight();
    }
}
