package io.moosicbox.lb.websocket;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The open WebSocket sessions, by backend. A backend that an operator takes out of rotation
 * (draining or disabled) keeps its sessions for the grace time, then they are closed with 1001,
 * so that clients reconnect to another backend.
 */
final class SessionRegistry {
    private final Duration grace;
    private final Map<Backend, Set<WebSocketTunnel>> byBackend = new HashMap<>();
    /** When each backend with sessions was first seen out of rotation, in nanoTime. */
    private final Map<Backend, Long> leavingSince = new HashMap<>();
    private int size;
    private CompletableFuture<Void> empty;

    SessionRegistry(Duration grace) {
        this.grace = grace;
    }

    /** @return false once shutting down: no new session is taken */
    synchronized boolean add(WebSocketTunnel tunnel) {
        if (empty != null) {
            return false;
        }
        byBackend.computeIfAbsent(tunnel.backend(), b -> new HashSet<>()).add(tunnel);
        size++;
        return true;
    }

    synchronized void remove(WebSocketTunnel tunnel) {
        Set<WebSocketTunnel> tunnels = byBackend.get(tunnel.backend());
        if (tunnels == null || !tunnels.remove(tunnel)) {
            return;
        }
        if (tunnels.isEmpty()) {
            byBackend.remove(tunnel.backend());
            leavingSince.remove(tunnel.backend());
        }
        if (--size == 0 && empty != null) {
            empty.complete(null);
        }
    }

    synchronized int size() {
        return size;
    }

    synchronized int count(Backend backend) {
        Set<WebSocketTunnel> tunnels = byBackend.get(backend);
        return tunnels == null ? 0 : tunnels.size();
    }

    /** Refuses new sessions from now on. @return completes when the last session has ended */
    synchronized CompletableFuture<Void> shutdown() {
        if (empty == null) {
            empty = new CompletableFuture<>();
            if (size == 0) {
                empty.complete(null);
            }
        }
        return empty;
    }

    synchronized boolean isShutdown() {
        return empty != null;
    }

    /** Closes the sessions of backends that have been out of rotation for the grace time. */
    void closeDrained(long now) {
        List<WebSocketTunnel> toClose = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<Backend, Set<WebSocketTunnel>> e : byBackend.entrySet()) {
                Backend b = e.getKey();
                BackendState state = b.state();
                // DOWN is left alone: a dead backend's sessions end by themselves, a live one's are still useful.
                if (state != BackendState.DRAINING && state != BackendState.DISABLED) {
                    leavingSince.remove(b);
                    continue;
                }
                long since = leavingSince.computeIfAbsent(b, k -> now);
                if (now - since >= grace.toNanos()) {
                    toClose.addAll(e.getValue());
                }
            }
        }
        // Outside the lock: closing may end a session at once, which removes it.
        for (WebSocketTunnel t : toClose) {
            t.goAway(t.backend().state() == BackendState.DISABLED ? "the backend was disabled" : "the backend is draining");
        }
    }

    void closeAll(String reason) {
        List<WebSocketTunnel> all = new ArrayList<>();
        synchronized (this) {
            byBackend.values().forEach(all::addAll);
        }
        for (WebSocketTunnel t : all) {
            t.goAway(reason);
        }
    }
}
