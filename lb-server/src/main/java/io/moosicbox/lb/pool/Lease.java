package io.moosicbox.lb.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** One request in flight on a backend; releasing twice is harmless, so every exit path may release. */
public final class Lease {
    /** A field updated in place rather than an AtomicBoolean: one object per request, not two. */
    private static final VarHandle RELEASED;

    static {
        try {
            RELEASED = MethodHandles.lookup().findVarHandle(Lease.class, "released", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Backend backend;
    @SuppressWarnings("unused") // through RELEASED
    private volatile boolean released;

    Lease(Backend backend) {
        this.backend = backend;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * The request never reached the backend (its client left, or it was refused first): frees the
     * slot and says nothing of the backend, which a release as not failed would count as served.
     */
    public void abandon() {
        if (RELEASED.compareAndSet(this, false, true)) {
            backend.releaseSlot();
        }
    }

    /** @param failed whether the exchange failed on the backend's side */
    public void release(boolean failed) {
        if (RELEASED.compareAndSet(this, false, true)) {
            backend.release(failed);
        }
    }
}
