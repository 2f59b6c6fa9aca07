package io.moosicbox.lb.websocket;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Lease;
import io.moosicbox.lb.proxy.Exchange;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.eclipse.jetty.util.thread.Scheduler;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.api.exceptions.BadPayloadException;
import org.eclipse.jetty.websocket.api.exceptions.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied WebSocket session: the client's session on the balancer, the balancer's session on
 * the backend, and the lease that counts it on the backend. Frames pass in pieces as they arrive,
 * and a side is read again only once its last piece was written to the other side: a slow reader
 * slows its writer down instead of filling the balancer's memory.
 *
 * <p>Public, as are its endpoint classes, because Jetty binds endpoint methods by public lookup.
 */
public final class WebSocketTunnel {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketTunnel.class);
    /** How long a side may take to answer a close frame before its connection is cut. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);

    private final Lease lease;
    private final Scheduler scheduler;
    private final Consumer<WebSocketTunnel> onEnd;
    private final ClientSide clientSide = new ClientSide();
    private final BackendSide backendSide = new BackendSide();
    private final AtomicInteger sidesLeft = new AtomicInteger(2);
    private volatile boolean backendFailed;
    /** Who ended the session, set by the first close that decides it. */
    private final AtomicReference<Exchange.End> end = new AtomicReference<>();
    /** Message payload bytes written to the client, for the access log. */
    private final LongAdder bytesToClient = new LongAdder();
    private final CompletableFuture<Ended> sessionEnded = new CompletableFuture<>();
    /** A close from the backend that came before the client side opened; guarded by {@code this}. */
    private int earlyCode;
    private String earlyReason;

    WebSocketTunnel(Lease lease, Scheduler scheduler, Consumer<WebSocketTunnel> onEnd) {
        this.lease = lease;
        this.scheduler = scheduler;
        this.onEnd = onEnd;
    }

    Backend backend() {
        return lease.backend();
    }

    ClientSide clientSide() {
        return clientSide;
    }

    BackendSide backendSide() {
        return backendSide;
    }

    /**
     * How a session that was opened ended: who ended it ({@code COMPLETE} when either end closed it
     * with a close frame, {@code SHUTDOWN} when the balancer did), and the payload bytes the client got.
     */
    public record Ended(Exchange.End end, long bytesToClient) {}

    /** Completes when both sides have ended and the lease is released, before the session leaves the registry. */
    CompletableFuture<Ended> ended() {
        return sessionEnded;
    }

    /** Closes both sides with 1001, for a drain or a shutdown. */
    void goAway(String reason) {
        end.compareAndSet(null, Exchange.End.SHUTDOWN);
        clientSide.close(StatusCode.SHUTDOWN, reason);
        backendSide.close(StatusCode.SHUTDOWN, reason);
    }

    /** The client was never upgraded: only the backend side is left to close. */
    void abandon() {
        clientSide.end();
        backendSide.close(StatusCode.SHUTDOWN, "the client upgrade failed");
    }

    private void sideEnded() {
        if (sidesLeft.decrementAndGet() == 0) {
            lease.release(backendFailed);
            Exchange.End how = end.get();
            sessionEnded.complete(new Ended(how == null ? Exchange.End.COMPLETE : how, bytesToClient.sum()));
            onEnd.accept(this);
        }
    }

    /** One session of the tunnel and what it forwards to the other side. */
    public abstract class Side implements Session.Listener {
        volatile Session session;
        private final AtomicBoolean ended = new AtomicBoolean();
        private final AtomicBoolean closing = new AtomicBoolean();
        /** A frame the other end may not send; Jetty reports it before the close it causes. */
        volatile Throwable violation;

        abstract Side peer();

        /** Whether the balancer has sent this side its close frame. */
        boolean closeSent() {
            return closing.get();
        }

        /** The close status the peer gets when this side ends with {@code code}. */
        abstract void forwardClose(int code, String reason);

        @Override
        public void onWebSocketPartialBinary(ByteBuffer payload, boolean fin, Callback callback) {
            Session to = peer().session;
            if (to == null) {
                callback.succeed();
                demand();
                return;
            }
            if (peer() == clientSide) {
                bytesToClient.add(payload.remaining());
            }
            // The payload is the network buffer itself: it is handed back only once written on.
            to.sendPartialBinary(payload, fin, Callback.from(() -> {
                callback.succeed();
                demand();
            }, x -> {
                callback.succeed();
                forwardFailed(to, x);
            }));
        }

        @Override
        public void onWebSocketPartialText(String payload, boolean fin) {
            Session to = peer().session;
            if (to == null) {
                demand();
                return;
            }
            if (peer() == clientSide) {
                bytesToClient.add(utf8Length(payload));
            }
            to.sendPartialText(payload, fin, Callback.from(this::demand, x -> forwardFailed(to, x)));
        }

        @Override
        public void onWebSocketPing(ByteBuffer payload) {
            Session to = peer().session;
            if (to == null) {
                demand();
                return;
            }
            to.sendPing(payload, Callback.from(this::demand, x -> forwardFailed(to, x)));
        }

        @Override
        public void onWebSocketPong(ByteBuffer payload) {
            Session to = peer().session;
            if (to == null) {
                demand();
                return;
            }
            to.sendPong(payload, Callback.from(this::demand, x -> forwardFailed(to, x)));
        }

        @Override
        public void onWebSocketError(Throwable cause) {
            LOG.debug("{} of {}: {}", getClass().getSimpleName(), backend(), cause.toString());
            if (cause instanceof ProtocolException || cause instanceof BadPayloadException) {
                violation = cause;
            }
        }

        /** The first side to close decides who ended the session: its end broke it, or closed it properly. */
        void decideEnd(boolean brokeIt, Exchange.End blame) {
            end.compareAndSet(null, brokeIt ? blame : Exchange.End.COMPLETE);
        }

        /** Called once per session, whether a close frame came or the connection ended. */
        @Override
        public void onWebSocketClose(int code, String reason, Callback callback) {
            callback.succeed();
            if (ended.compareAndSet(false, true)) {
                // Before the count: when the other side has ended already, the count releases the
                // lease, and whether the backend failed must be known by then.
                forwardClose(code, reason);
                sideEnded();
            }
        }

        /** A write to the other side failed: that side is ending, and its own close reaches this one. */
        private void forwardFailed(Session to, Throwable failure) {
            LOG.debug("forwarding to {} failed: {}", backend(), failure.toString());
            if (to.isOpen()) {
                to.close(StatusCode.SERVER_ERROR, "the balancer could not forward a frame", Callback.NOOP);
            }
            // Keep reading: frames are dropped until this side's close frame arrives.
            demand();
        }

        void demand() {
            Session s = session;
            if (s != null && s.isOpen()) {
                try {
                    s.demand();
                } catch (IllegalStateException closedMeanwhile) {
                    LOG.trace("no demand on a closed session", closedMeanwhile);
                }
            }
        }

        /** Sends a close frame once, and cuts the connection if the other end does not answer in time. */
        void close(int code, String reason) {
            Session s = session;
            if (s == null || ended.get() || !closing.compareAndSet(false, true)) {
                return;
            }
            s.close(code, reason, Callback.NOOP);
            scheduler.schedule(() -> {
                if (!ended.get()) {
                    s.disconnect();
                }
            }, CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** @return true the first time: the side counts as ended exactly once */
        boolean end() {
            if (ended.compareAndSet(false, true)) {
                sideEnded();
                return true;
            }
            return false;
        }

        boolean isEnded() {
            return ended.get();
        }
    }

    /** The client's session on the balancer. */
    public final class ClientSide extends Side {
        @Override
        Side peer() {
            return backendSide;
        }

        @Override
        public void onWebSocketOpen(Session s) {
            int code;
            String reason;
            synchronized (WebSocketTunnel.this) {
                session = s;
                code = earlyCode;
                reason = earlyReason;
            }
            if (code != 0) {
                close(code, reason);
            } else {
                backendSide.demand();
            }
            demand();
        }

        @Override
        void forwardClose(int code, String reason) {
            // 1006 and 1015 only describe a lost connection and cannot be sent: the client went away.
            boolean lost = code == StatusCode.NO_CLOSE || code == StatusCode.FAILED_TLS_HANDSHAKE;
            decideEnd(lost || violation != null, Exchange.End.CLIENT);
            if (lost) {
                backendSide.close(StatusCode.SHUTDOWN, "the client went away");
            } else if (violation != null) {
                // Jetty's 1002 or 1007 would tell the backend that it broke the protocol.
                backendSide.close(StatusCode.SHUTDOWN, "the client broke the WebSocket protocol");
            } else {
                backendSide.close(code, reason);
            }
        }
    }

    /** The balancer's session on the backend. */
    public final class BackendSide extends Side {
        @Override
        Side peer() {
            return clientSide;
        }

        @Override
        public void onWebSocketOpen(Session s) {
            // Frames wait in the backend's connection until the client side is open to take them.
            session = s;
        }

        @Override
        void forwardClose(int code, String reason) {
            boolean lost = code == StatusCode.NO_CLOSE || code == StatusCode.FAILED_TLS_HANDSHAKE;
            // Jetty's 1002 or 1007 would tell the client that it broke the protocol.
            Throwable broken = violation;
            // Once the balancer has sent its close (the client left), a connection that ends without
            // a close frame ends a session that was ending anyway: a backend that drops it instead of
            // answering, or that is cut for answering too late, lost nothing the client sent. Counted,
            // every client leaving would push a healthy backend towards ejection.
            boolean lostByBackend = lost && !closeSent();
            decideEnd(lostByBackend || broken != null, Exchange.End.BACKEND);
            if (lostByBackend || broken != null) {
                backendFailed = true;
                lease.backend().recordError(lostByBackend ? "WebSocket connection lost" : "WebSocket: " + broken.getMessage());
            }
            int forwardCode = lost || broken != null ? StatusCode.INVALID_UPSTREAM_RESPONSE : code;
            String forwardReason = lost ? "the backend connection was lost"
                    : broken != null ? "the backend broke the WebSocket protocol" : reason;
            synchronized (WebSocketTunnel.this) {
                if (clientSide.session == null) {
                    earlyCode = forwardCode;
                    earlyReason = forwardReason;
                    return;
                }
            }
            clientSide.close(forwardCode, forwardReason);
        }
    }

    /** The bytes a text payload takes in UTF-8, as it goes on the wire, without encoding it. */
    static long utf8Length(String text) {
        long n = 0;
        for (int i = 0, len = text.length(); i < len; i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(text.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
