package io.moosicbox.lb.pool.health;

import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import java.time.Instant;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checks of every backend of every cluster, each on its own virtual thread so
 * that a slow backend delays no other. The clusters are read again on every tick, so a reload
 * that swaps them needs no restart; a backend keeps its counts as long as the object lives.
 *
 * <p>Only UP and DOWN are the checker's: a backend an operator drained or disabled is checked
 * (its last check and error stay visible) but its state is left alone. A backend that passive
 * health ejected comes back only after its ejection time and {@code rise} passing checks.
 */
public final class HealthChecker {
    private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);
    /** Longest sleep between ticks: how soon a reload's new backends are first checked. */
    private static final long MAX_TICK_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long MIN_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    /** A backend's check schedule and its streak of results; results are written by one check at a time. */
    private static final class Probe {
        final Backend backend;
        long nextDueNanos;
        volatile boolean running;
        int passed;
        int failed;

        Probe(Backend backend, long now) {
            this.backend = backend;
            this.nextDueNanos = now;
        }
    }

    private final Supplier<List<Cluster>> clusters;
    private final Map<Backend, Probe> probes = new IdentityHashMap<>();
    /** Backends to check at once, with whoever waits for that check; taken by the loop. */
    private final Map<Backend, CompletableFuture<Void>> asked = new ConcurrentHashMap<>();
    private final TcpConnectCheck tcp = new TcpConnectCheck();
    private final HttpClient http = new HttpClient();
    private ExecutorService checks;
    private volatile Thread loop;

    /** @param clusters the balancer's current clusters; read on every tick */
    public HealthChecker(Supplier<List<Cluster>> clusters) {
        this.clusters = clusters;
        http.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, "moosicbox-lb health check"));
        http.setFollowRedirects(false);
    }

    /** How https:// backends are trusted: as the proxy trusts them, so that a check and a request agree. */
    public void setSslContextFactory(SslContextFactory.Client ssl) {
        http.setSslContextFactory(ssl);
    }

    public synchronized void start() throws Exception {
        if (loop != null) {
            return;
        }
        http.start();
        checks = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("lb-health-", 0).factory());
        Thread t = Thread.ofVirtual().name("lb-health").unstarted(this::run);
        loop = t;
        t.start();
    }

    public synchronized void stop() throws Exception {
        Thread t = loop;
        if (t == null) {
            return;
        }
        loop = null;
        t.interrupt();
        t.join(TimeUnit.SECONDS.toMillis(5));
        checks.shutdownNow();
        http.stop();
    }

    /**
     * Checks the backend at once (an operator enabled it), and lets that one check decide: a
     * pass keeps or makes it UP, a failure takes it DOWN without waiting for {@code fall} more, as
     * HAProxy checks a server that leaves maintenance. A check already running is let finish first,
     * since it may have begun before the backend came back.
     *
     * @return done when that check is, whatever its verdict; never failed
     */
    public CompletableFuture<Void> checkNow(Backend backend) {
        CompletableFuture<Void> done = asked.computeIfAbsent(backend, b -> new CompletableFuture<>());
        Thread t = loop;
        if (t == null) {
            asked.remove(backend, done);
            done.complete(null);
        } else {
            LockSupport.unpark(t);
        }
        return done;
    }

    private void run() {
        Thread self = Thread.currentThread();
        while (loop == self) {
            long wake;
            try {
                wake = tick(System.nanoTime());
            } catch (RuntimeException e) {
                LOG.warn("health check round failed", e);
                wake = System.nanoTime() + MAX_TICK_NANOS;
            }
            LockSupport.parkNanos(Math.max(MIN_TICK_NANOS, wake - System.nanoTime()));
        }
    }

    /** Starts the checks that are due; @return when the next one is */
    private long tick(long now) {
        long next = now + MAX_TICK_NANOS;
        Set<Backend> current = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Cluster cluster : clusters.get()) {
            HealthCheckConfig config = cluster.config().healthCheck();
            HealthCheck check = config.path() == null ? tcp : new HttpGetCheck(http, config.path());
            for (Backend backend : cluster.backends()) {
                current.add(backend);
                Probe probe = probes.computeIfAbsent(backend, b -> new Probe(b, now));
                if (probe.running) {
                    next = Math.min(next, now + MIN_TICK_NANOS);
                    continue;
                }
                long interval = config.interval().toNanos();
                if (probe.nextDueNanos - (now + interval) > 0) {
                    // A reload shortened the interval: the next check is due within the new one, not the old.
                    probe.nextDueNanos = now + interval;
                }
                CompletableFuture<Void> waiting = asked.isEmpty() ? null : asked.remove(backend);
                if (waiting != null || now - probe.nextDueNanos >= 0) {
                    probe.running = true;
                    probe.nextDueNanos = now + interval;
                    checks.execute(() -> runCheck(probe, check, config, waiting));
                }
                next = Math.min(next, probe.nextDueNanos);
            }
        }
        probes.keySet().retainAll(current);
        // Asked for a backend that a reload or DNS has taken out since: nothing to check.
        for (Backend b : asked.keySet()) {
            CompletableFuture<Void> waiting = current.contains(b) ? null : asked.remove(b);
            if (waiting != null) {
                waiting.complete(null);
            }
        }
        return next;
    }

    /** @param asked completed once the check is over; when not null, this check's verdict is final */
    private void runCheck(Probe probe, HealthCheck check, HealthCheckConfig config, CompletableFuture<Void> asked) {
        Backend backend = probe.backend;
        try {
            String error = null;
            try {
                check.check(backend, config.timeout());
            } catch (Exception e) {
                error = describe(check, e);
            }
            boolean decisive = asked != null || backend.lastCheck() == null;
            backend.recordCheck(Instant.now(), error);
            if (error == null) {
                passed(probe, config, decisive);
            } else {
                failed(probe, config, error, asked != null);
            }
        } catch (RuntimeException e) {
            LOG.warn("health check of {} failed unexpectedly", backend, e);
        } finally {
            probe.running = false;
            if (asked != null) {
                asked.complete(null);
            }
        }
    }

    private static void passed(Probe probe, HealthCheckConfig config, boolean firstVerdict) {
        Backend backend = probe.backend;
        probe.failed = 0;
        if (backend.state() != BackendState.DOWN) {
            probe.passed = 0;
            return;
        }
        if (System.nanoTime() - backend.ejectedUntilNanos() < 0) {
            // Still serving its ejection: passing checks count only once it is over.
            probe.passed = 0;
            return;
        }
        probe.passed++;
        if ((firstVerdict || probe.passed >= config.rise()) && backend.compareAndSetState(BackendState.DOWN, BackendState.UP)) {
            probe.passed = 0;
            LOG.info("backend {} is UP", backend);
        }
    }

    private static void failed(Probe probe, HealthCheckConfig config, String error, boolean decisive) {
        Backend backend = probe.backend;
        probe.passed = 0;
        if (backend.state() != BackendState.UP) {
            probe.failed = 0;
            return;
        }
        probe.failed++;
        if ((decisive || probe.failed >= config.fall()) && backend.compareAndSetState(BackendState.UP, BackendState.DOWN)) {
            probe.failed = 0;
            LOG.warn("backend {} is DOWN: {}", backend, error);
        }
    }

    private static String describe(HealthCheck check, Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof TimeoutException || cause instanceof java.net.SocketTimeoutException) {
            return check + ": no answer in time";
        }
        String message = cause.getMessage();
        return check + ": " + (message != null ? message : cause.getClass().getSimpleName());
    }
}
