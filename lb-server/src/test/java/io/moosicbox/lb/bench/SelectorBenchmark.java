package io.moosicbox.lb.bench;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.Lease;
import io.moosicbox.lb.pool.RequestInfo;
import io.moosicbox.lb.pool.selection.Selector;
import io.moosicbox.lb.pool.selection.Selectors;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Nanoseconds per pick of each selection algorithm at 2, 16 and 256 backends, on one thread.
 * {@code select} is the algorithm alone; {@code acquireRelease} is what a request pays in the
 * cluster: the ready list, the pick, the in-flight count and its release. How to run: README.
 */
public class SelectorBenchmark extends NanosPerOperation {
    private static final int CLIENTS = 1024;

    @Param({"2", "16", "256"})
    public int backends;

    @Param({"round_robin", "weighted_round_robin", "least_connections", "p2c_ewma", "consistent_hash"})
    public String algorithm;

    private List<Backend> all;
    private Selector selector;
    private Cluster cluster;
    private RequestInfo[] requests;
    private final List<Lease> held = new ArrayList<>();
    private int next;

    @Setup
    public void setup() {
        List<BackendSpec> specs = new ArrayList<>();
        for (int i = 0; i < backends; i++) {
            specs.add(BackendSpec.parse("http://10.0." + (i / 250) + "." + (i % 250 + 1) + ":8001 weight=" + (1 + i % 3)));
        }
        ClusterConfig config = new ClusterConfig("bench", List.of("*"), List.of("/"), algorithm,
                HealthCheckConfig.defaults(), specs, PoolSettings.defaults());
        cluster = Cluster.of(config);
        all = cluster.backends();
        selector = Selectors.create(algorithm, all, PoolSettings.defaults());
        for (int i = 0; i < all.size(); i++) {
            Backend b = all.get(i);
            b.recordLatency(1_000_000L + 10_000L * i);
            for (int k = 0; k < i % 4; k++) {
                held.add(b.acquire());
            }
        }
        requests = new RequestInfo[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            String ip = "192.168." + (i / 256) + "." + (i % 256);
            requests[i] = new RequestInfo() {
                @Override
                public String clientAddress() {
                    return ip;
                }

                @Override
                public String header(String name) {
                    return null;
                }

                @Override
                public String cookie(String name) {
                    return null;
                }
            };
        }
    }

    @TearDown
    public void tearDown() {
        held.forEach(l -> l.release(false));
    }

    @Benchmark
    public Backend select() {
        return selector.select(all, requests[next++ & (CLIENTS - 1)]);
    }

    @Benchmark
    public Backend acquireRelease() {
        Lease lease = cluster.tryAcquire(requests[next++ & (CLIENTS - 1)], null);
        lease.release(false);
        return lease.backend();
    }
}
