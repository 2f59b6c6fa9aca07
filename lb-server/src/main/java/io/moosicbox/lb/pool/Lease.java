package io.moosicbox.lb.pool;

import java.util.concurrent.atomic.AtomicBoolean;

/** One request in flight on a backend; releasing twice is harmless, so every exit path may release. */
public final class Lease {
    private final Backend backend;
    private final AtomicBoolean released = new AtomicBoolean();

    Lease(Backend backend) {
        this.backend = backend;
    }

    public Backend backend() {
        return backend;
    }

    /** @param failed whether the exchange failed on the backend's side */
    public void release(boolean failed) {
        if (released.compareAndSet(false, true)) {
            backend.release(failed);
        }
    }
}
