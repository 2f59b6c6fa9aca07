package io.moosicbox.lb.pool;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Requests of one cluster waiting for a backend below its {@code max_conns}. Bounded in size and
 * time; waiters park (virtual threads run the proxy, so no platform thread is held) and are woken
 * when a backend of the cluster frees a slot.
 */
final class WaitQueue {
    /** Waiters also look again this often, for backends that became ready without freeing a slot. */
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition slotFreed = lock.newCondition();
    private final LongAdder waits = new LongAdder();
    private final LongAdder rejections = new LongAdder();
    private final LongAdder timeouts = new LongAdder();
    private volatile int waiting;

    /**
     * @param attempt tries to take a slot without waiting; null when every backend is full
     * @return a lease, or null when the queue is full, the wait timed out or the thread was interrupted
     */
    Lease await(Supplier<Lease> attempt, int capacity, long timeoutNanos) {
        lock.lock();
        try {
            if (waiting >= capacity) {
                rejections.increment();
                return null;
            }
            waits.increment();
            waiting++;
            try {
                long deadline = System.nanoTime() + timeoutNanos;
                while (true) {
                    Lease lease = attempt.get();
                    if (lease != null) {
                        return lease;
                    }
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        timeouts.increment();
                        return null;
                    }
                    slotFreed.awaitNanos(Math.min(remaining, RECHECK_NANOS));
                }
            } finally {
                waiting--;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Wakes one waiter; cheap when nobody waits, as it runs on every release of a limited backend. */
    void signal() {
        if (waiting == 0) {
            return;
        }
        lock.lock();
        try {
            slotFreed.signal();
        } finally {
            lock.unlock();
        }
    }

    int waiting() {
        return waiting;
    }

    long waits() {
        return waits.sum();
    }

    long rejections() {
        return rejections.sum();
    }

    long timeouts() {
        return timeouts.sum();
    }
}
