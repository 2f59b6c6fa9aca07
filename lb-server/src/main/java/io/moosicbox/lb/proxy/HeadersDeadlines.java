package io.moosicbox.lb.proxy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The response-headers timeout of every attempt in flight, checked by one periodic task. A timer
 * per request would cost a lock and a thread wake-up to set and again to cancel, on every
 * request; here a request only enters and leaves a concurrent set. The deadline is kept to within
 * a tenth of the timeout (at least 10 ms, at most 1 s late).
 */
final class HeadersDeadlines extends AbstractLifeCycle {
    private final long timeoutNanos;
    private final long tickMillis;
    private final Scheduler scheduler;
    private final Set<Pending> pending = ConcurrentHashMap.newKeySet();

    /** One attempt waiting for its response headers. */
    static final class Pending {
        private final Consumer<Throwable> abort;
        private final long deadlineNanos;

        private Pending(Consumer<Throwable> abort, long deadlineNanos) {
            this.abort = abort;
            this.deadlineNanos = deadlineNanos;
        }
    }

    HeadersDeadlines(long timeoutMillis, Scheduler scheduler) {
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        this.tickMillis = Math.clamp(timeoutMillis / 10, 10, 1000);
        this.scheduler = scheduler;
    }

    /**
     * The request was sent whole: its backend now has the timeout to begin the response.
     *
     * @param abort ends the attempt with the timeout when it passes
     */
    Pending start(Consumer<Throwable> abort) {
        Pending p = new Pending(abort, System.nanoTime() + timeoutNanos);
        pending.add(p);
        return p;
    }

    /** The response began, or the attempt ended. */
    void cancel(Pending p) {
        pending.remove(p);
    }

    int size() {
        return pending.size();
    }

    @Override
    protected void doStart() {
        schedule();
    }

    private void schedule() {
        if (isRunning() || isStarting()) {
            scheduler.schedule(this::sweep, tickMillis, TimeUnit.MILLISECONDS);
        }
    }

    private void sweep() {
        try {
            long now = System.nanoTime();
            for (Pending p : pending) {
                if (now - p.deadlineNanos >= 0 && pending.remove(p)) {
                    p.abort.accept(new TimeoutException("no response headers within "
                            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"));
                }
            }
        } finally {
            schedule();
        }
    }
}
