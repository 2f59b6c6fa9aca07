package io.moosicbox.lb.discovery;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.HostPort;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS discovery: a backend written with {@code resolve: 30s} stands for every address its host
 * name has (a Kubernetes headless service, a Docker Compose service scaled up). Names are looked
 * up again on their interval; when an answer changes, {@code onChange} rebuilds the clusters,
 * which drains the addresses that went away. A failed lookup keeps the last answer: a DNS outage
 * must not empty a cluster.
 */
public final class DnsDiscovery implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DnsDiscovery.class);
    /** How often due names are looked for; intervals are whole seconds at least. */
    private static final long TICK_MS = 500;

    /** @param failing whether the last lookup failed (and {@code addresses} are the ones kept from before) */
    private record Answer(List<String> addresses, long nextDueNanos, boolean failing) {}

    private final HostResolver resolver;
    private final Runnable onChange;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private volatile Map<String, Duration> intervals = Map.of();
    private ScheduledExecutorService timer;

    /** @param onChange called (on the discovery thread) when a name's addresses changed */
    public DnsDiscovery(HostResolver resolver, Runnable onChange) {
        this.resolver = resolver;
        this.onChange = onChange;
    }

    /**
     * The backends a configured one stands for now: itself, or one per address of its name.
     * A name never looked up before is looked up at once, so that a new cluster starts with backends.
     */
    public List<BackendSpec> expand(BackendSpec spec) {
        if (!spec.discovers()) {
            return List.of(spec);
        }
        String host = HostPort.of(spec.url()).host();
        Answer a = answers.get(host);
        if (a == null) {
            lookUp(host, spec.resolve());
            a = answers.get(host);
        }
        List<BackendSpec> result = new ArrayList<>();
        for (String address : a == null ? List.<String>of() : a.addresses()) {
            result.add(spec.withHost(address));
        }
        return result;
    }

    /** The names to keep looking up, each at the shortest interval any backend asks for. */
    public void watch(List<ClusterConfig> clusters) {
        Map<String, Duration> wanted = new HashMap<>();
        for (ClusterConfig c : clusters) {
            for (BackendSpec b : c.backends()) {
                if (b.discovers()) {
                    wanted.merge(HostPort.of(b.url()).host(), b.resolve(), (x, y) -> x.compareTo(y) <= 0 ? x : y);
                }
            }
        }
        intervals = Map.copyOf(wanted);
        answers.keySet().retainAll(wanted.keySet());
    }

    public synchronized void start() {
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("lb-dns").unstarted(r));
            timer.scheduleWithFixedDelay(this::refreshDue, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
        }
    }

    /** Looks up every watched name now, whether due or not; tells {@code onChange} once if any changed. */
    public void refreshNow() {
        refresh(true);
    }

    private void refreshDue() {
        try {
            refresh(false);
        } catch (RuntimeException e) {
            LOG.warn("DNS discovery failed", e);
        }
    }

    private synchronized void refresh(boolean all) {
        boolean changed = false;
        long now = System.nanoTime();
        for (Map.Entry<String, Duration> e : intervals.entrySet()) {
            Answer a = answers.get(e.getKey());
            if (all || a == null || now - a.nextDueNanos() >= 0) {
                changed |= lookUp(e.getKey(), e.getValue());
            }
        }
        if (changed) {
            onChange.run();
        }
    }

    /** @return whether the addresses changed */
    private boolean lookUp(String host, Duration interval) {
        Answer before = answers.get(host);
        List<String> addresses;
        try {
            addresses = resolver.resolve(host).stream().map(InetAddress::getHostAddress).distinct().sorted().toList();
        } catch (IOException | RuntimeException e) {
            // Once per outage, not every interval: a headless Service with no pod yet (the solver's,
            // between challenges) fails to resolve for hours, and warned every 10 s.
            if (before == null || !before.failing()) {
                LOG.warn("cannot resolve {}: {}; keeping {} (logged again when it resolves)", host, e.getMessage(),
                        before == null ? "no backends for it" : before.addresses());
            } else {
                LOG.debug("still cannot resolve {}: {}", host, e.getMessage());
            }
            answers.put(host, new Answer(before == null ? List.of() : before.addresses(), System.nanoTime() + interval.toNanos(), true));
            return false;
        }
        answers.put(host, new Answer(addresses, System.nanoTime() + interval.toNanos(), false));
        if (before != null && before.failing()) {
            LOG.info("{} resolves again, to {}", host, addresses);
        }
        boolean changed = before == null || !Objects.equals(before.addresses(), addresses);
        if (changed && before != null) {
            LOG.info("{} now resolves to {} (was {})", host, addresses, before.addresses());
        }
        return changed && before != null;
    }

    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
    }
}
