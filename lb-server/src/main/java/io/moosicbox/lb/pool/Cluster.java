package io.moosicbox.lb.pool;

import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.selection.Selector;
import io.moosicbox.lb.pool.selection.Selectors;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * A named pool of interchangeable backends and the algorithm that picks one per request.
 * Discovery (which backends exist), health (which are usable) and selection (which one now)
 * are separate pieces; this class only joins them, and queues requests when every ready
 * backend is at its {@code max_conns}.
 */
public final class Cluster {
    /** The backends that take new requests, as of a count of state changes. */
    private record Ready(long version, List<Backend> backends) {}

    private final ClusterConfig config;
    private final List<Backend> backends;
    private final Selector selector;
    private final WaitQueue queue;
    private final boolean limited;
    private volatile Ready ready = new Ready(-1, List.of());

    /** @param backends may be objects of a previous configuration: they keep their live state */
    public Cluster(ClusterConfig config, List<Backend> backends) {
        this(config, backends, null);
    }

    /**
     * @param previous the cluster this one replaces (a reload), or null: its waiting requests stay
     *                 in line ahead of those that come after, instead of waiting on a queue nobody signals
     */
    public Cluster(ClusterConfig config, List<Backend> backends, Cluster previous) {
        this.queue = previous != null ? previous.queue : new WaitQueue();
        this.config = config;
        this.backends = List.copyOf(backends);
        PoolSettings pool = config.pool();
        this.selector = Selectors.create(config.algorithm(), this.backends, pool);
        boolean anyLimit = false;
        for (Backend b : this.backends) {
            anyLimit |= b.maxConns() > 0;
            b.configure(pool, queue::signal, this::anotherAvailable);
            if (pool.checkBeforeTraffic() && b.lastCheck() == null && b.requests() == 0) {
                // Unknown until its first health check: no traffic before a verdict.
                b.compareAndSetState(BackendState.UP, BackendState.DOWN);
            }
        }
        this.limited = anyLimit;
    }

    /** Whether a backend other than {@code b} takes new requests: passive health never ejects the last one. */
    private boolean anotherAvailable(Backend b) {
        for (Backend other : available()) {
            if (other != b) {
                return true;
            }
        }
        return false;
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

    /**
     * Picks a backend, ignoring {@code max_conns}; for callers that count in-flight requests
     * themselves with {@link Backend#acquire()}.
     *
     * @return a backend that takes new requests, or null when none does
     */
    public Backend pick(RequestInfo request) {
        List<Backend> candidates = available();
        return candidates.isEmpty() ? null : selector.select(candidates, request);
    }

    /**
     * Picks a backend and counts the request in flight on it. When every ready backend is at its
     * {@code max_conns}, waits in the cluster's bounded queue up to the queue timeout.
     *
     * @return a lease, or null when no backend is ready, or all stayed full (see {@link #available()})
     */
    public Lease acquire(RequestInfo request) {
        return acquire(request, () -> false);
    }

    /**
     * As {@link #acquire(RequestInfo)}, for a request whose client can leave while it waits.
     *
     * @param abandoned whether the client left; a waiter for which it turns true leaves the queue
     *                  at its next wake-up ({@link #wakeWaiters}) and gets null
     */
    public Lease acquire(RequestInfo request, BooleanSupplier abandoned) {
        Lease lease = tryAcquire(request, null);
        if (lease != null || !limited || available().isEmpty()) {
            return lease;
        }
        PoolSettings pool = config.pool();
        // No ready backend left (the last one drained or ejected while the request waited): a 503
        // now, as for a request that comes then, not at the end of the queue timeout.
        return queue.await(() -> take(request, null), () -> abandoned.getAsBoolean() || available().isEmpty(),
                pool.queueSize(), pool.queueTimeout().toNanos());
    }

    /** Makes the waiters whose clients left give up their place now, not when they reach the head. */
    public void wakeWaiters() {
        queue.wakeAll();
    }

    /**
     * Whether {@link #acquire} may wait for room when {@link #tryAcquire} found none: a backend
     * is ready and {@code max_conns} is what kept the request out.
     */
    public boolean mayWait() {
        return limited && !available().isEmpty();
    }

    /**
     * Without waiting: a lease on a ready backend below its {@code max_conns}, other than those
     * in {@code tried} (the backends a retried request already failed on: with two failing, a
     * retry must not go back to the first while a healthy one waits).
     *
     * @param tried null or empty for a first attempt
     * @return null when there is none
     */
    public Lease tryAcquire(RequestInfo request, Set<Backend> tried) {
        if (limited && (tried == null || tried.isEmpty()) && queue.waiting() > 0) {
            // Requests already waiting go first: a new one would take the slot freed for the oldest of them.
            return null;
        }
        return take(request, tried);
    }

    private Lease take(RequestInfo request, Set<Backend> tried) {
        List<Backend> candidates = available();
        boolean retry = tried != null && !tried.isEmpty();
        if (retry) {
            List<Backend> untried = new ArrayList<>(candidates.size());
            for (Backend b : candidates) {
                if (!tried.contains(b)) {
                    untried.add(b);
                }
            }
            candidates = untried;
        }
        if (candidates.isEmpty()) {
            return null;
        }
        Backend first = retry ? selector.reselect(candidates, request) : selector.select(candidates, request);
        Lease lease = first.tryAcquire();
        if (lease != null) {
            return lease;
        }
        // Rare path (a full backend): choose again among the others.
        List<Backend> open = new ArrayList<>(candidates.size());
        for (Backend b : candidates) {
            if (b != first && b.hasRoom()) {
                open.add(b);
            }
        }
        while (!open.isEmpty()) {
            Backend b = retry ? selector.reselect(open, request) : selector.select(open, request);
            Lease next = b.tryAcquire();
            if (next != null) {
                return next;
            }
            open.remove(b);
        }
        return null;
    }

    /** Backends that take new requests, in configuration order; the same list until a state changes. */
    public List<Backend> available() {
        long version = Backend.stateChanges();
        Ready r = ready;
        if (r.version() == version) {
            return r.backends();
        }
        List<Backend> result = new ArrayList<>(backends.size());
        for (Backend b : backends) {
            if (b.isAvailable()) {
                result.add(b);
            }
        }
        List<Backend> list = List.copyOf(result);
        ready = new Ready(version, list);
        return list;
    }

    public Backend find(String address) {
        for (Backend b : backends) {
            if (b.address().equals(address)) {
                return b;
            }
        }
        return null;
    }

    /** Requests waiting now for a backend below its {@code max_conns}. */
    public int queued() {
        return queue.waiting();
    }

    /** Requests that had to wait because every ready backend was at its {@code max_conns}. */
    public long queueWaits() {
        return queue.waits();
    }

    /** Requests answered 503 at once because the queue was full. */
    public long queueRejections() {
        return queue.rejections();
    }

    /** Requests answered 503 because no backend freed a slot within the queue timeout. */
    public long queueTimeouts() {
        return queue.timeouts();
    }
}
