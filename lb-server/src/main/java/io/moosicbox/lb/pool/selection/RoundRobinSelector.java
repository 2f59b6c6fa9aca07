package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.RequestInfo;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Each candidate in turn, ignoring weights. */
public final class RoundRobinSelector implements Selector {
    private final AtomicLong next = new AtomicLong();

    @Override
    public Backend select(List<Backend> candidates, RequestInfo request) {
        return candidates.get((int) Long.remainderUnsigned(next.getAndIncrement(), candidates.size()));
    }

    @Override
    public Backend reselect(List<Backend> candidates, RequestInfo request) {
        return candidates.get((int) Long.remainderUnsigned(next.get(), candidates.size()));
    }
}
