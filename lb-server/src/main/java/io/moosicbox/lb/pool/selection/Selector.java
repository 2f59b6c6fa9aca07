package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.RequestInfo;
import java.util.List;

/**
 * A load-balancing algorithm: picks one backend for a request. One class per algorithm,
 * registered by name in {@link Selectors}. Called concurrently from many request threads.
 */
public interface Selector {

    /**
     * @param candidates backends that take new requests now; never empty, in configuration order
     * @param request    what is known of the request (client address, headers, cookies)
     * @return one of {@code candidates}
     */
    Backend select(List<Backend> candidates, RequestInfo request);

    /**
     * The pick for a retry of a request that already had its turn: an algorithm with a turn
     * counter must not count it twice, or every request would meet a failing backend first.
     */
    default Backend reselect(List<Backend> candidates, RequestInfo request) {
        return select(candidates, request);
    }
}
