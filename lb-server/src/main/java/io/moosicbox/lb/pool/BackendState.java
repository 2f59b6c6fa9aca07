package io.moosicbox.lb.pool;

/** What the admin API shows for a backend, and whether it takes new requests. */
public enum BackendState {
    /** Healthy and in rotation. */
    UP,
    /** Failed its health checks or was ejected by passive checks; out of rotation until it recovers. */
    DOWN,
    /** An operator asked to drain it: no new requests, in-flight ones finish. */
    DRAINING,
    /** Drained and idle: safe to stop. */
    DRAINED,
    /** An operator took it out of rotation at once. */
    DISABLED;

    public boolean takesNewRequests() {
        return this == UP;
    }
}
