package io.moosicbox.lb.server;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.discovery.DnsDiscovery;
import io.moosicbox.lb.discovery.HostResolver;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.route.Router;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live clusters and the router over them. A change (reload, DNS answer) builds new clusters
 * completely, then swaps the router in one volatile write: a request sees the old or the new
 * one, never a mix. Backends whose cluster and URL stay are the same objects afterwards, so their
 * health, in-flight count and counters carry over; backends that go away are drained: no new
 * requests, the ones in flight finish.
 */
public final class Topology implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Topology.class);
    private static final long REMEMBER_OPERATOR_STATE_NANOS = TimeUnit.MINUTES.toNanos(10);
    private static final Set<BackendState> OPERATOR_STATES = EnumSet.of(
            BackendState.DRAINING, BackendState.DRAINED, BackendState.DISABLED);

    private final DnsDiscovery discovery;
    private final List<Retired> retired = new CopyOnWriteArrayList<>();
    private volatile Router router = new Router(List.of());
    private List<ClusterConfig> configs = List.of();

    public Topology(List<ClusterConfig> clusters, HostResolver resolver) {
        this.discovery = new DnsDiscovery(resolver, this::rediscover);
        apply(clusters);
    }

    /** Read once per request. */
    public Router router() {
        return router;
    }

    public List<Cluster> clusters() {
        return router.clusters();
    }

    /**
     * A backend taken out of its cluster by a reload or by DNS, while it finishes its requests.
     *
     * @param before its state when it was taken out, which it gets back if its address returns
     */
    public record Retired(Cluster cluster, Backend backend, BackendState before, long sinceNanos) {}

    /** Backends taken out by a reload or by DNS that still finish requests (DRAINING). */
    public List<Retired> retired() {
        forgetDrained();
        return retired.stream().filter(r -> r.backend().state() != BackendState.DRAINED).toList();
    }

    /**
     * A drained backend is forgotten, except one an operator had drained or disabled: it is kept
     * for {@link #REMEMBER_OPERATOR_STATE_NANOS}, so that an address that leaves DNS and comes
     * back (a Kubernetes readiness flap) keeps what the operator chose instead of returning UP.
     */
    private void forgetDrained() {
        long now = System.nanoTime();
        retired.removeIf(r -> r.backend().state() == BackendState.DRAINED
                && (!OPERATOR_STATES.contains(r.before()) || now - r.sinceNanos() > REMEMBER_OPERATOR_STATE_NANOS));
    }

    public DnsDiscovery discovery() {
        return discovery;
    }

    public void start() {
        discovery.start();
    }

    @Override
    public void close() {
        discovery.close();
    }

    /**
     * Builds the clusters of {@code clusters} and swaps them in.
     *
     * @throws IllegalArgumentException when they cannot be built (the running ones then stay)
     */
    public synchronized void apply(List<ClusterConfig> clusters) {
        discovery.watch(clusters);
        Router current = router;
        List<Cluster> built = new ArrayList<>();
        for (ClusterConfig c : clusters) {
            built.add(build(c, current.cluster(c.name())));
        }
        Router next = new Router(built);
        router = next;
        configs = List.copyOf(clusters);
        retire(current.clusters(), built);
    }

    private synchronized void rediscover() {
        try {
            apply(configs);
        } catch (RuntimeException e) {
            LOG.warn("cannot apply new DNS answers; the running clusters stay", e);
        }
    }

    private Cluster build(ClusterConfig config, Cluster running) {
        List<BackendSpec> specs = new ArrayList<>();
        for (BackendSpec b : config.backends()) {
            for (BackendSpec s : discovery.expand(b)) {
                if (specs.stream().noneMatch(x -> x.url().equals(s.url()))) {
                    specs.add(s);
                }
            }
        }
        if (running != null && running.config().equals(config)
                && running.backends().stream().map(Backend::spec).toList().equals(specs)) {
            // Nothing changed: the same object keeps its selector's state too.
            return running;
        }
        List<Backend> backends = new ArrayList<>();
        for (BackendSpec s : specs) {
            Backend kept = running == null ? null : findByUrl(running, s);
            if (kept == null) {
                kept = revive(config.name(), s);
            }
            if (kept != null) {
                if (!kept.spec().equals(s)) {
                    kept.reconfigure(s);
                }
                backends.add(kept);
            } else {
                backends.add(new Backend(s));
            }
        }
        return new Cluster(config, backends, running);
    }

    private void retire(List<Cluster> before, List<Cluster> after) {
        Set<Backend> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        after.forEach(c -> kept.addAll(c.backends()));
        for (Cluster c : before) {
            for (Backend b : c.backends()) {
                if (!kept.contains(b)) {
                    LOG.info("backend {} left cluster {}: draining, {} requests in flight", b.address(), c.name(), b.inflight());
                    BackendState was = b.state();
                    b.setState(BackendState.DRAINING);
                    retired.add(new Retired(c, b, was, System.nanoTime()));
                }
            }
        }
        forgetDrained();
    }

    /**
     * The retired backend of this cluster and URL, back in service: one object per address, so
     * that a drain, the admin API and the metrics see the requests it still has in flight (a
     * second object for the same address answered a drain with DRAINED while a stream ran).
     */
    private Backend revive(String cluster, BackendSpec spec) {
        for (Retired r : retired) {
            if (r.cluster().name().equals(cluster) && r.backend().url().equals(spec.url())) {
                retired.remove(r);
                Backend b = r.backend();
                BackendState now = b.state();
                if (now == BackendState.DRAINING || now == BackendState.DRAINED) {
                    b.setState(r.before());
                }
                LOG.info("backend {} is back in cluster {}: {}, {} requests in flight", b.address(), cluster, b.state(), b.inflight());
                return b;
            }
        }
        return null;
    }

    private static Backend findByUrl(Cluster cluster, BackendSpec spec) {
        for (Backend b : cluster.backends()) {
            if (b.url().equals(spec.url())) {
                return b;
            }
        }
        return null;
    }
}
