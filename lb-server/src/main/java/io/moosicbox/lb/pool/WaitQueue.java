package io.moosicbox.lb.pool;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Requests of one cluster waiting for a backend below its {@code max_conns}, served in the order
 * they came. Bounded in size and time; waiters park (virtual threads run the proxy, so no platform
 * thread is held). Only the oldest waiter tries to take a slot: a freed slot wakes it, and once it
 * has one (or gives up) the next becomes the oldest and tries at once, so two slots freed together
 * go to the two oldest.
 */
final class WaitQueue {
    /** The oldest waiter also looks again this often, for backends that became ready without freeing a slot. */
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ReentrantLock lock = new ReentrantLock();
    /** Guarded by {@link #lock}; the oldest first. */
    private final ArrayDeque<Condition> waiters = new ArrayDeque<>();
    private final LongAdder waits = new LongAdder();
    private final LongAdder rejections = new LongAdder();
    private final LongAdder timeouts = new LongAdder();
    private volatile int waiting;

    /**
     * @param attempt   tries to take a slot without waiting; null when every backend is full
     * @param giveUp    whether waiting has become pointless (the request's client left, no backend
     *                  is ready any more); looked at whenever the waiter wakes, so that
     *                  {@link #wakeAll} takes it out of the line at once
     * @return a lease, or null when the queue is full, the wait timed out, the waiter gave up or
     *         the thread was interrupted
     */
    Lease await(Supplier<Lease> attempt, BooleanSupplier giveUp, int capacity, long timeoutNanos) {
        lock.lock();
        try {
            if (waiters.size() >= capacity) {
                rejections.increment();
                return null;
            }
            waits.increment();
            Condition turn = lock.newCondition();
            waiters.addLast(turn);
            waiting = waiters.size();
            try {
                long deadline = System.nanoTime() + timeoutNanos;
                while (true) {
                    if (giveUp.getAsBoolean()) {
                        return null;
                    }
                    if (waiters.peekFirst() == turn) {
                        Lease lease = attempt.get();
                        if (lease != null) {
                            return lease;
                        }
                    }
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        timeouts.increment();
                        return null;
                    }
                    turn.awaitNanos(Math.min(remaining, RECHECK_NANOS));
                }
            } finally {
                waiters.remove(turn);
                waiting = waiters.size();
                // The next in line tries at once: another slot may be free too.
                Condition next = waiters.peekFirst();
                if (next != null) {
                    next.signal();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Wakes the oldest waiter; cheap when nobody waits, as it runs on every release of a limited backend. */
    void signal() {
        if (waiting == 0) {
            return;
        }
        lock.lock();
        try {
            Condition oldest = waiters.peekFirst();
            if (oldest != null) {
                oldest.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every waiter to look whether its client left; rare (a cancelled HTTP/2 stream), so all of them. */
    void wakeAll() {
        if (waiting == 0) {
            return;
        }
        lock.lock();
        try {
            waiters.forEach(Condition::signal);
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
