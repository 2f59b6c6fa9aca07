package io.moosicbox.lb.pool;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.PoolSettings;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One backend server and its live state: health, operator state, in-flight count, latency,
 * passive-health bookkeeping and counters. Shared by every request thread; all fields are thread-safe.
 */
public final class Backend {
    /** Bumped on every state change of any backend, so that clusters know when to rebuild their ready lists. */
    private static final Logger LOG = LoggerFactory.getLogger(Backend.class);
    /** How often the address of a name with '_' is looked up again (the JVM caches it for 30 s anyway). */
    private static final long RESOLVE_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final AtomicLong STATE_CHANGES = new AtomicLong();
    /** Time constant of the latency average: samples older than this weigh little. */
    private static final double EWMA_DECAY_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Share of its weight a backend gets at the start of its slow start. */
    private static final double SLOW_START_FLOOR = 0.1;
    /** Ejections double up to this factor of the base ejection time. */
    private static final int MAX_BACKOFF_DOUBLINGS = 5;

    private volatile BackendSpec spec;
    private final String address;
    private final String baseUrl;
    private final AtomicInteger inflight = new AtomicInteger();
    /**
     * A new cell at every change, compared by identity: a drain that found the backend idle must
     * not mark a later drain DRAINED (the same enum value again after UP, while a request it did not
     * see is in flight), which a compare-and-set on the bare value would.
     */
    private final AtomicReference<StateCell> state = new AtomicReference<>(new StateCell(BackendState.UP));

    private record StateCell(BackendState value) {}
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder ejections = new LongAdder();
    private final LongAdder checksPassed = new LongAdder();
    private final LongAdder checksFailed = new LongAdder();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private volatile PoolSettings settings = PoolSettings.defaults();
    private volatile Runnable slotListener;
    /** For a host name java.net.URI does not take (with '_'): its address, looked up off the request path. */
    private volatile URI resolved;
    private volatile long resolvedAtNanos;
    private final AtomicBoolean resolving = new AtomicBoolean();
    private volatile Predicate<Backend> othersAvailable = b -> true;
    private volatile Instant lastCheck;
    private volatile String lastError;
    private volatile double latencyEwmaNanos;
    private volatile long latencyUpdatedNanos;
    private volatile long rampStartNanos;
    /** When the backend last became UP: "failing again soon after it came back" counts from here. */
    private volatile long upSinceNanos = System.nanoTime();
    /** Whether a request succeeded since the backend last came back UP (read before written: one write per return, not per request). */
    private volatile boolean servedSinceUp = true;
    private volatile long ejectedUntilNanos;
    private volatile long lastBackoffNanos;
    private int ejectionStreak;

    public Backend(BackendSpec spec) {
        this.spec = spec;
        this.address = spec.address();
        String url = spec.url().toString();
        this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.rampStartNanos = System.nanoTime();
        if (spec.url().getHost() == null) {
            try {
                // Starts the first lookup in the background, so that the first request finds an address.
                connectUrl();
            } catch (UncheckedIOException notYet) {
                // expected: the lookup has only begun
            }
        }
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

    /**
     * The URL to give Jetty's client, which refuses a URI without a host: java.net.URI has none for
     * a name with '_' (a Docker Compose service such as moosicbox_server). The request then goes to
     * the name's address as last looked up; the caller sets the Host header either way. The lookup
     * never runs here, on the thread that serves other connections (a slow DNS server would stall
     * them all), but on a virtual thread, at most every {@link #RESOLVE_EVERY_NANOS}, and in
     * {@link #resolvedUrl()}, which the health checks call.
     *
     * @throws UncheckedIOException wrapping an {@link UnknownHostException} while the name has no address yet
     */
    public URI connectUrl() {
        URI url = spec.url();
        if (url.getHost() != null) {
            return url;
        }
        URI last = resolved;
        if ((last == null || System.nanoTime() - resolvedAtNanos > RESOLVE_EVERY_NANOS) && resolving.compareAndSet(false, true)) {
            Thread.ofVirtual().name("lb-resolve-" + address).start(() -> {
                try {
                    resolvedUrl();
                } catch (UnknownHostException e) {
                    // Kept as it was: the health checks report the name that does not resolve.
                } finally {
                    resolving.set(false);
                }
            });
        }
        if (last == null) {
            throw new UncheckedIOException(new UnknownHostException(address + ": the name has not been resolved yet"));
        }
        return last;
    }

    /** {@link #connectUrl()}, looking the name up now: for threads that may block (health checks, WebSocket handshakes). */
    public URI resolvedUrl() throws UnknownHostException {
        URI url = spec.url();
        if (url.getHost() != null) {
            return url;
        }
        HostPort to = HostPort.of(url);
        InetAddress a = InetAddress.getByName(to.host());
        String ip = a.getHostAddress();
        int scope = ip.indexOf('%');
        ip = scope < 0 ? ip : ip.substring(0, scope);
        URI fresh = URI.create(url.getScheme() + "://" + (a instanceof Inet6Address ? "[" + ip + "]" : ip) + ":" + to.port());
        resolvedAtNanos = System.nanoTime();
        resolved = fresh;
        return fresh;
    }

    public int weight() {
        return spec.weight();
    }

    public int maxConns() {
        return spec.maxConns();
    }

    /**
     * The cluster's settings (passive health, slow start), set by the cluster that holds this
     * backend; a reload that keeps the backend sets the new ones.
     */
    void configure(PoolSettings newSettings, Runnable onSlotFreed, Predicate<Backend> anotherAvailable) {
        this.settings = newSettings;
        this.slotListener = onSlotFreed;
        this.othersAvailable = anotherAvailable;
    }

    public BackendState state() {
        return state.get().value();
    }

    /**
     * An operator's enable, most often of a new server after a deploy: the back-off that the old
     * one's failures built up is forgotten, so that a crash soon after does not eject it for twice
     * as long; and so is the old one's last error, which an enable's answer showed next to UP. The
     * ejection it ends is over too: a failed check soon after left the backend out until the old
     * ejection's end, however many checks it passed. Under the lock that ejects, so that an
     * ejection cannot fall between the two.
     */
    public void enable() {
        lastError = null;
        synchronized (this) {
            lastBackoffNanos = 0;
            ejectionStreak = 0;
            ejectedUntilNanos = System.nanoTime();
            // And the old server's run of failures (requests still failing on it after its ejection):
            // the new one's first failure ejected it, as the checks' rise (compareAndSetState) does not.
            consecutiveFailures.set(0);
            setState(BackendState.UP);
        }
    }

    /** Sets the state; a drain that finds nothing in flight is DRAINED at once. */
    public void setState(BackendState newState) {
        BackendState old = state.getAndSet(new StateCell(newState)).value();
        if (old != newState) {
            STATE_CHANGES.incrementAndGet();
            if (newState == BackendState.UP) {
                rampStartNanos = System.nanoTime();
                upSinceNanos = rampStartNanos;
                servedSinceUp = false;
            }
        }
        if (newState == BackendState.DRAINING) {
            finishDrainIfIdle();
        }
    }

    /** Changes the state only if it is {@code expected}: health checks must not undo an operator's choice. */
    public boolean compareAndSetState(BackendState expected, BackendState newState) {
        if (!swap(expected, newState)) {
            return false;
        }
        if (expected != newState) {
            STATE_CHANGES.incrementAndGet();
            if (newState == BackendState.UP) {
                rampStartNanos = System.nanoTime();
                upSinceNanos = rampStartNanos;
                servedSinceUp = false;
                consecutiveFailures.set(0);
            }
        }
        return true;
    }

    static long stateChanges() {
        return STATE_CHANGES.get();
    }

    public boolean isAvailable() {
        return state.get().value().takesNewRequests();
    }

    /** Whether one more request stays within {@code max_conns}. */
    public boolean hasRoom() {
        int max = spec.maxConns();
        return max == 0 || inflight.get() < max;
    }

    public int inflight() {
        return inflight.get();
    }

    /**
     * The weight selection uses now: the configured weight, scaled down during slow start from
     * 10% to 100% over the cluster's slow-start window after the backend was added or recovered.
     */
    public double effectiveWeight() {
        long start = rampStartNanos;
        if (start == 0) {
            return spec.weight();
        }
        long window = settings.slowStart().toNanos();
        long elapsed = System.nanoTime() - start;
        if (window == 0 || elapsed >= window) {
            rampStartNanos = 0;
            return spec.weight();
        }
        return spec.weight() * Math.max(SLOW_START_FLOOR, (double) elapsed / window);
    }

    /**
     * Adds a latency sample (time to response headers) to a peak-sensitive moving average, as
     * Finagle's and Linkerd's peak EWMA: a slower sample is taken at once, faster ones pull the
     * average down with a weight that grows with the time since the last sample. Concurrent
     * updates may lose a sample; an average does not need every one.
     */
    public void recordLatency(long nanos) {
        long now = System.nanoTime();
        double keep = decay(now);
        double current = latencyEwmaNanos * keep;
        latencyEwmaNanos = nanos > current ? nanos : current + nanos * (1 - keep);
        latencyUpdatedNanos = now;
    }

    /**
     * Average time to response headers in nanoseconds; 0 before the first response. It decays
     * toward 0 while no sample comes, so that a backend once slow and since avoided is tried again.
     */
    public double latencyEwmaNanos() {
        double stored = latencyEwmaNanos;
        return stored == 0 ? 0 : stored * decay(System.nanoTime());
    }

    /** The share of the average that remains after the time since the last sample. */
    private double decay(long now) {
        return Math.exp(-(now - latencyUpdatedNanos) / EWMA_DECAY_NANOS);
    }

    public long requests() {
        return requests.sum();
    }

    /** Exchanges that failed on the backend's side (connect error, timeout, reset before an answer, connection ended mid-body). */
    /** Failures since the last success: what passive health ejects on. */
    public int consecutiveFailures() {
        return consecutiveFailures.get();
    }

    public long failures() {
        return failures.sum();
    }

    /** Requests that failed on this backend and were sent again to another one. */
    public long retries() {
        return retries.sum();
    }

    /** Times passive health took this backend out of rotation. */
    public long ejections() {
        return ejections.sum();
    }

    public long healthChecksPassed() {
        return checksPassed.sum();
    }

    public long healthChecksFailed() {
        return checksFailed.sum();
    }

    public Instant lastCheck() {
        return lastCheck;
    }

    public String lastError() {
        return lastError;
    }

    /** @param error null when the check passed */
    public void recordCheck(Instant when, String error) {
        this.lastCheck = when;
        if (error != null) {
            checksFailed.increment();
            this.lastError = error;
        } else {
            checksPassed.increment();
        }
    }

    public void recordError(String error) {
        this.lastError = error;
    }

    public void recordRetry() {
        retries.increment();
    }

    /**
     * {@link System#nanoTime()} until which an ejected backend stays out even if its checks pass.
     * Read under the lock that ejects: {@link #eject()} writes the end before it swaps the state and
     * puts the old one back when the swap fails, and a check that read such an end in between threw
     * its passing checks away (a backend its checks took DOWN, with failing requests still ending).
     */
    public synchronized long ejectedUntilNanos() {
        return ejectedUntilNanos;
    }

    /**
     * Counts a request as in flight on this backend, whatever its {@code max_conns}. Every lease
     * must be released exactly once, whatever happens to the exchange: a leaked count silently
     * starves the backend.
     */
    public Lease acquire() {
        inflight.incrementAndGet();
        requests.increment();
        return new Lease(this);
    }

    /** A lease if the backend takes new requests and is below its {@code max_conns}, else null. */
    public Lease tryAcquire() {
        int max = spec.maxConns();
        while (true) {
            if (!isAvailable()) {
                return null;
            }
            int current = inflight.get();
            if (max > 0 && current >= max) {
                return null;
            }
            if (inflight.compareAndSet(current, current + 1)) {
                // A drain between the check above and this count may have found the backend idle
                // and called it DRAINED: then the request must not go, or a script stops a busy backend.
                if (!isAvailable()) {
                    releaseSlot();
                    return null;
                }
                requests.increment();
                return new Lease(this);
            }
        }
    }

    void release(boolean failed) {
        if (failed) {
            failures.increment();
            int ejectAfter = settings.ejectAfter();
            if (ejectAfter > 0 && consecutiveFailures.incrementAndGet() >= ejectAfter) {
                eject();
            }
        } else {
            if (consecutiveFailures.get() != 0) {
                consecutiveFailures.set(0);
            }
            if (!servedSinceUp) {
                servedSinceUp = true;
            }
        }
        releaseSlot();
    }

    void releaseSlot() {
        if (inflight.decrementAndGet() == 0) {
            finishDrainIfIdle();
        }
        if (spec.maxConns() > 0) {
            Runnable listener = slotListener;
            if (listener != null) {
                listener.run();
            }
        }
    }

    /**
     * Passive health: out of rotation for a backoff that doubles when the backend fails again soon
     * after it came back, and resets once it stayed up for as long as its last backoff.
     */
    private void eject() {
        int failuresInARow = consecutiveFailures.getAndSet(0);
        if (state.get().value() == BackendState.UP && !othersAvailable.test(this)) {
            // As nginx does for an upstream of one server: ejecting the last backend turns a
            // restart of a second into 503s for the whole ejection and the checks after it, while
            // the requests it fails would have failed anyway. Active checks still take it DOWN.
            LOG.warn("backend {} failed {} times in a row; not ejected: no other backend of its cluster is available (last error: {})",
                    address, failuresInARow, lastError);
            return;
        }
        String cause = lastError;
        long now = System.nanoTime();
        synchronized (this) {
            // Counted from its return, not from the ejection's end: it only returns after rise passing checks.
            // Or without a single success since it came back: a hung backend (SIGSTOP, a deadlock)
            // passes TCP checks and fails only at RESPONSE_HEADERS_TIMEOUT, longer than its ejection,
            // and was let back in for ever at the first backoff.
            boolean failingAgain = lastBackoffNanos > 0 && (now - upSinceNanos < lastBackoffNanos || !servedSinceUp);
            int streak = failingAgain ? Math.min(ejectionStreak + 1, MAX_BACKOFF_DOUBLINGS) : 0;
            long backoff = settings.ejectTime().toNanos() << streak;
            // Before the state: a check that sees DOWN must see the ejection's end too, or its first
            // verdict after a start (which needs no rise) let the backend straight back in.
            long before = ejectedUntilNanos;
            ejectedUntilNanos = now + backoff;
            if (!swap(BackendState.UP, BackendState.DOWN)) {
                ejectedUntilNanos = before;
                return;
            }
            ejectionStreak = streak;
            lastBackoffNanos = backoff;
        }
        STATE_CHANGES.incrementAndGet();
        ejections.increment();
        lastError = "ejected after " + failuresInARow + " consecutive failures";
        LOG.warn("backend {} is DOWN: ejected for {} ms after {} consecutive failures (last error: {})",
                address, lastBackoffNanos / 1_000_000, failuresInARow, cause);
    }

    private void finishDrainIfIdle() {
        // Read first: a compare-and-set on every idle moment would cost every request a locked instruction.
        StateCell draining = state.get();
        if (draining.value() == BackendState.DRAINING && inflight.get() == 0
                && state.compareAndSet(draining, new StateCell(BackendState.DRAINED))) {
            STATE_CHANGES.incrementAndGet();
        }
    }

    /** Sets {@code next} if the state is {@code expected}. */
    private boolean swap(BackendState expected, BackendState next) {
        while (true) {
            StateCell current = state.get();
            if (current.value() != expected) {
                return false;
            }
            if (state.compareAndSet(current, new StateCell(next))) {
                return true;
            }
        }
    }

    @Override
    public String toString() {
        return address;
    }
}
