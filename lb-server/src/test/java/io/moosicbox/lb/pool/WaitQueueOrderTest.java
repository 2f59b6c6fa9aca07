package io.moosicbox.lb.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Requests that wait for a backend at its {@code max_conns} are served in the order they came:
 * otherwise the oldest can reach the queue timeout (503) while younger ones are served. Room that
 * appears without a freed slot (a reload that raises {@code max_conns}, a backend back UP) is
 * found by the waiters' periodic look, which must not let a younger waiter go first either.
 */
class WaitQueueOrderTest {
    private static final int WAITERS = 7;

    @Test
    void waitersTakeRoomInTheOrderTheyCame() throws Exception {
        WaitQueue queue = new WaitQueue();
        AtomicInteger room = new AtomicInteger();
        Backend backend = new Backend(BackendSpec.parse("http://10.0.0.1:8001"));
        List<Integer> served = new CopyOnWriteArrayList<>();
        List<Thread> waiters = new ArrayList<>();
        for (int i = 0; i < WAITERS; i++) {
            int n = i;
            waiters.add(Thread.ofVirtual().start(() -> {
                Lease lease = queue.await(() -> room.getAndUpdate(r -> Math.max(0, r - 1)) > 0 ? backend.tryAcquire() : null,
                        () -> false, 10, Duration.ofSeconds(20).toNanos());
                served.add(n);
                lease.release(false);
            }));
            TestBalancer.await("waiter " + n + " queued", Duration.ofSeconds(5), () -> queue.waiting() == n + 1);
            // Their looks every 100 ms fall at different moments.
            Thread.sleep(13);
        }
        for (int k = 1; k <= WAITERS; k++) {
            // At any moment of the waiters' 100 ms: whichever looks next must not be the one served.
            Thread.sleep(ThreadLocalRandom.current().nextInt(100));
            room.incrementAndGet();
            int taken = k;
            TestBalancer.await("room " + k + " taken", Duration.ofSeconds(5), () -> served.size() == taken);
        }
        for (Thread t : waiters) {
            t.join(Duration.ofSeconds(5));
        }
        assertEquals(IntStream.range(0, WAITERS).boxed().toList(), served);
        assertEquals(0, queue.waiting());
    }

    private static Cluster oneSlot() {
        PoolSettings pool = new PoolSettings(2, 10, Duration.ofSeconds(20), Duration.ZERO, "client_ip",
                5, Duration.ofSeconds(10), false, false);
        return Cluster.of(new ClusterConfig("music", List.of("*"), List.of("/"), "round_robin",
                HealthCheckConfig.defaults(), List.of(BackendSpec.parse("http://10.0.0.1:8001 max_conns=1")), pool));
    }

    /**
     * A reload (or new DNS answers) builds the cluster anew: the requests waiting in the old one
     * stay first in line. They waited on a queue nobody signalled, while new requests took every slot.
     */
    @Test
    void aRebuiltClusterKeepsTheLineOfRequestsThatWait() throws Exception {
        Cluster before = oneSlot();
        Backend backend = before.backends().getFirst();
        Lease held = before.acquire(RequestInfo.NONE);
        List<Lease> waiterGot = new CopyOnWriteArrayList<>();
        Thread waiter = Thread.ofVirtual().start(() -> waiterGot.add(before.acquire(RequestInfo.NONE)));
        TestBalancer.await("the waiter queued", Duration.ofSeconds(5), () -> before.queued() == 1);
        backend.reconfigure(BackendSpec.parse("http://10.0.0.1:8001 max_conns=2"));
        Cluster after = new Cluster(before.config(), List.of(backend), before);
        assertEquals(1, after.queued(), "the waiting request is in the new cluster's line");
        assertNull(after.tryAcquire(RequestInfo.NONE, null), "a request that came after the reload went first");
        waiter.join(Duration.ofSeconds(5));
        assertNotNull(waiterGot.getFirst(), "the waiter got the room");
        held.release(false);
        waiterGot.getFirst().release(false);
    }

    @Test
    void aNewRequestDoesNotTakeRoomAWaiterIsOwed() throws Exception {
        Cluster cluster = oneSlot();
        Backend backend = cluster.backends().getFirst();
        Lease held = cluster.acquire(RequestInfo.NONE);
        assertNotNull(held);
        List<Lease> waiterGot = new CopyOnWriteArrayList<>();
        Thread waiter = Thread.ofVirtual().start(() -> waiterGot.add(cluster.acquire(RequestInfo.NONE)));
        TestBalancer.await("the waiter queued", Duration.ofSeconds(5), () -> cluster.queued() == 1);
        // A reload raises the limit: room, and nobody told. It is the waiter's, who came first.
        backend.reconfigure(BackendSpec.parse("http://10.0.0.1:8001 max_conns=2"));
        Lease later = cluster.tryAcquire(RequestInfo.NONE, null);
        waiter.join(Duration.ofSeconds(5));
        assertNull(later, "a request that came later took the room of one that waited");
        assertEquals(1, waiterGot.size());
        assertNotNull(waiterGot.getFirst(), "the waiter found the room at its next look");
        held.release(false);
        waiterGot.getFirst().release(false);
    }
}
