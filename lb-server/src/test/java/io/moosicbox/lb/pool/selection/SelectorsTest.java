package io.moosicbox.lb.pool.selection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.Lease;
import io.moosicbox.lb.pool.RequestInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SelectorsTest {

    static List<Backend> backends(int... weights) {
        List<Backend> list = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            list.add(new Backend(BackendSpec.parse("http://10.0.0." + (i + 1) + ":8001 weight=" + weights[i])));
        }
        return list;
    }

    static Map<Backend, Integer> count(Selector selector, List<Backend> candidates, int picks) {
        Map<Backend, Integer> counts = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            counts.merge(selector.select(candidates, RequestInfo.NONE), 1, Integer::sum);
        }
        return counts;
    }

    static RequestInfo client(String ip) {
        return new RequestInfo() {
            @Override
            public String clientAddress() {
                return ip;
            }

            @Override
            public String header(String name) {
                return name.equals("X-User") ? "user-" + ip : null;
            }

            @Override
            public String cookie(String name) {
                return null;
            }
        };
    }

    @Test
    void everyAlgorithmIsRegisteredByItsName() {
        assertEquals(List.of("round_robin", "weighted_round_robin", "least_connections", "p2c_ewma", "consistent_hash"),
                Selectors.names());
        List<Backend> all = backends(1, 1);
        for (String name : Selectors.names()) {
            assertTrue(all.contains(Selectors.create(name, all, PoolSettings.defaults()).select(all, RequestInfo.NONE)), name);
        }
        assertThrows(IllegalArgumentException.class, () -> Selectors.create("random", all, PoolSettings.defaults()));
    }

    @Test
    void weightedRoundRobinIsSmoothAsNginx() {
        List<Backend> all = backends(5, 1, 1);
        Selector wrr = new WeightedRoundRobinSelector(all);
        StringBuilder order = new StringBuilder();
        for (int i = 0; i < 14; i++) {
            order.append((char) ('a' + all.indexOf(wrr.select(all, RequestInfo.NONE))));
        }
        assertEquals("aabacaaaabacaa", order.toString());
    }

    @Test
    void weightedRoundRobinKeepsProportionsOnASubset() {
        List<Backend> all = backends(3, 1, 2);
        Selector wrr = new WeightedRoundRobinSelector(all);
        assertEquals(Map.of(all.get(0), 300, all.get(1), 100, all.get(2), 200), count(wrr, all, 600));
        List<Backend> subset = List.of(all.get(0), all.get(2));
        assertEquals(Map.of(all.get(0), 300, all.get(2), 200), count(wrr, subset, 500));
    }

    @Test
    void leastConnectionsPrefersTheLeastLoadedPerWeightAndRotatesTies() {
        List<Backend> all = backends(1, 1, 2);
        Selector lc = new LeastConnectionsSelector();
        // Idle: a tie, broken round robin.
        Map<Backend, Integer> idle = count(lc, all, 300);
        assertEquals(List.of(100, 100, 100), all.stream().map(idle::get).toList());
        List<Lease> held = new ArrayList<>();
        held.add(all.get(0).acquire());
        held.add(all.get(2).acquire());
        // Loads: 1/1, 0/1, 1/2 -> the idle one.
        assertSame(all.get(1), lc.select(all, RequestInfo.NONE));
        held.add(all.get(1).acquire());
        held.add(all.get(1).acquire());
        // Loads: 1, 2, 0.5 -> the heavy one, although it has as many in flight as the first.
        assertSame(all.get(2), lc.select(all, RequestInfo.NONE));
        held.forEach(l -> l.release(false));
    }

    @Test
    void p2cAvoidsABusyOrSlowBackend() {
        List<Backend> all = backends(1, 1);
        Selector p2c = new P2cEwmaSelector();
        all.get(0).recordLatency(1_000_000);
        all.get(1).recordLatency(1_000_000);
        List<Lease> held = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            held.add(all.get(0).acquire());
        }
        assertEquals(Map.of(all.get(1), 200), count(p2c, all, 200));
        held.forEach(l -> l.release(false));
        all.get(1).recordLatency(1_000_000_000L);
        Backend slow = all.get(1);
        for (int i = 0; i < 50; i++) {
            slow.recordLatency(1_000_000_000L);
        }
        assertTrue(count(p2c, all, 200).getOrDefault(slow, 0) == 0, "a backend 1000x slower gets nothing at equal load");
    }

    @Test
    void p2cSpreadsEvenlyOverEqualBackends() {
        List<Backend> all = backends(1, 1, 1, 1);
        Map<Backend, Integer> counts = count(new P2cEwmaSelector(), all, 4000);
        for (Backend b : all) {
            assertTrue(Math.abs(counts.get(b) - 1000) < 150, counts.toString());
        }
    }

    @Test
    void consistentHashIsStableAndEven() {
        List<Backend> all = backends(1, 1, 1);
        Selector hash = new ConsistentHashSelector(all, HashKey.parse("client_ip"));
        Map<Backend, Integer> counts = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            RequestInfo r = client("192.168." + (i / 250) + "." + (i % 250));
            Backend b = hash.select(all, r);
            assertSame(b, hash.select(all, r));
            counts.merge(b, 1, Integer::sum);
        }
        for (Backend b : all) {
            assertTrue(Math.abs(counts.get(b) - 1000) < 200, counts.toString());
        }
    }

    @Test
    void consistentHashMovesOnlyTheKeysOfABackendThatLeaves() {
        List<Backend> all = backends(1, 1, 1, 1);
        Selector hash = new ConsistentHashSelector(all, HashKey.parse("header:X-User"));
        Backend leaving = all.get(2);
        List<Backend> rest = List.of(all.get(0), all.get(1), all.get(3));
        // A backend removed from the configuration: the ring of the new cluster has it no more.
        Selector rebuilt = new ConsistentHashSelector(rest, HashKey.parse("header:X-User"));
        int moved = 0;
        for (int i = 0; i < 2000; i++) {
            RequestInfo r = client("10.1." + (i / 200) + "." + (i % 200));
            Backend before = hash.select(all, r);
            Backend down = hash.select(rest, r);
            assertSame(down, rebuilt.select(rest, r), "down and removed agree");
            if (before == leaving) {
                assertNotEquals(leaving, down);
                moved++;
            } else {
                assertSame(before, down, "a key of a staying backend moved");
            }
        }
        assertTrue(moved > 300 && moved < 700, "about a quarter of the keys were the leaving backend's: " + moved);
    }

    @Test
    void hashKeyForms() {
        assertEquals("client_ip", HashKey.parse("CLIENT_IP").toString());
        assertEquals("header:X-User", HashKey.parse("Header:X-User").toString());
        assertEquals("cookie:session", HashKey.parse("cookie:session").toString());
        assertEquals("user-1.2.3.4", HashKey.parse("header:X-User").of(client("1.2.3.4")));
        assertEquals("1.2.3.4", HashKey.parse("cookie:none").of(client("1.2.3.4")), "falls back to the client IP");
        assertThrows(IllegalArgumentException.class, () -> HashKey.parse("header:"));
        assertThrows(IllegalArgumentException.class, () -> HashKey.parse("url"));
    }

    @Test
    void aRetryDoesNotTakeAnotherRoundRobinTurn() {
        List<Backend> two = backends(1, 1);
        Cluster cluster = new Cluster(new ClusterConfig("c", List.of("*"), List.of("/"), "round_robin",
                HealthCheckConfig.defaults(), List.of(two.get(0).spec(), two.get(1).spec()), PoolSettings.defaults()), two);
        Backend failing = two.get(0);
        int firstOnFailing = 0;
        for (int i = 0; i < 8; i++) {
            Lease lease = cluster.tryAcquire(RequestInfo.NONE, null);
            if (lease.backend() == failing) {
                firstOnFailing++;
                lease.release(true);
                lease = cluster.tryAcquire(RequestInfo.NONE, java.util.Set.of(failing));
                assertNotEquals(failing, lease.backend());
            }
            lease.release(false);
        }
        // Every other request starts on it, as round robin says; not every request.
        assertEquals(4, firstOnFailing);
    }

    @Test
    void slowStartRampsTheWeightFromATenth() throws Exception {
        Backend b = backends(10).get(0);
        Cluster cluster = new Cluster(
                new ClusterConfig("c", List.of("*"), List.of("/"), "weighted_round_robin",
                        HealthCheckConfig.defaults(),
                        List.of(b.spec()),
                        new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ofMillis(400), "client_ip")),
                List.of(b));
        b.compareAndSetState(BackendState.UP, BackendState.DOWN);
        b.compareAndSetState(BackendState.DOWN, BackendState.UP);
        double start = b.effectiveWeight();
        assertTrue(start >= 1 && start < 5, "starts near a tenth: " + start);
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (b.effectiveWeight() < 10 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(10.0, b.effectiveWeight());
        assertEquals(1, cluster.backends().size());
    }
}
