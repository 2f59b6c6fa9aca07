package io.moosicbox.lb.pool;

import io.moosicbox.lb.config.BackendSpec;
import java.net.URI;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * One backend server and its live state: health, operator state, in-flight count, counters.
 * Shared by every request thread; all fields are thread-safe.
 */
public final class Backend {
    private volatile BackendSpec spec;
    private final String address;
    private final String baseUrl;
    private final AtomicInteger inflight = new AtomicInteger();
    private final AtomicReference<BackendState> state = new AtomicReference<>(BackendState.UP);
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private volatile Instant lastCheck;
    private volatile String lastError;

    public Backend(BackendSpec spec) {
        this.spec = spec;
        this.address = spec.address();
        String url = spec.url().toString();
        this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    public BackendSpec spec() {
        return spec;
    }

    /**
     * A reload changed weight or max_conns of this same URL: the new values apply from the next
     * request, while state, in-flight count and counters stay.
     */
    public void reconfigure(BackendSpec newSpec) {
        if (!newSpec.url().equals(spec.url())) {
            throw new IllegalArgumentException("a backend keeps its URL: " + spec.url() + " is not " + newSpec.url());
        }
        this.spec = newSpec;
    }

    /** {@code host:port}, the backend's name in the admin API and metrics. */
    public String address() {
        return address;
    }

    /** {@code scheme://host:port} without a trailing slash, ready to take a request path. */
    public String baseUrl() {
        return baseUrl;
    }

    public URI url() {
        return spec.url();
    }

    public int weight() {
        return spec.weight();
    }

    public int maxConns() {
        return spec.maxConns();
    }

    public BackendState state() {
        return state.get();
    }

    /** Sets the state; a drain that finds nothing in flight is DRAINED at once. */
    public void setState(BackendState newState) {
        state.set(newState);
        if (newState == BackendState.DRAINING) {
            finishDrainIfIdle();
        }
    }

    /** Changes the state only if it is {@code expected}: health checks must not undo an operator's choice. */
    public boolean compareAndSetState(BackendState expected, BackendState newState) {
        return state.compareAndSet(expected, newState);
    }

    public boolean isAvailable() {
        return state.get().takesNewRequests();
    }

    public int inflight() {
        return inflight.get();
    }

    public long requests() {
        return requests.sum();
    }

    public long failures() {
        return failures.sum();
    }

    public Instant lastCheck() {
        return lastCheck;
    }

    public String lastError() {
        return lastError;
    }

    public void recordCheck(Instant when, String error) {
        this.lastCheck = when;
        if (error != null) {
            this.lastError = error;
        }
    }

    public void recordError(String error) {
        this.lastError = error;
    }

    /**
     * Counts a request as in flight on this backend. Every lease must be released exactly once,
     * whatever happens to the exchange: a leaked count silently starves the backend.
     */
    public Lease acquire() {
        inflight.incrementAndGet();
        requests.increment();
        return new Lease(this);
    }

    void release(boolean failed) {
        if (failed) {
            failures.increment();
        }
        if (inflight.decrementAndGet() == 0) {
            finishDrainIfIdle();
        }
    }

    private void finishDrainIfIdle() {
        if (inflight.get() == 0) {
            state.compareAndSet(BackendState.DRAINING, BackendState.DRAINED);
        }
    }

    @Override
    public String toString() {
        return address;
    }
}
