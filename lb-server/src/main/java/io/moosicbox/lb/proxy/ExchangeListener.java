package io.moosicbox.lb.proxy;

/**
 * Told about every proxied exchange when it ends: the seam for metrics and access logs, so that
 * the proxy does not know about either. Called on the request's thread: implementations must be
 * quick and must not block.
 */
@FunctionalInterface
public interface ExchangeListener {
    ExchangeListener NONE = exchange -> {};

    void onComplete(Exchange exchange);

    /**
     * A WebSocket handshake that upgraded the client (status 101): the session begins. By default
     * an exchange like any other, as metrics count it.
     */
    default void onSessionOpen(Exchange handshake) {
        onComplete(handshake);
    }

    /**
     * The session that {@link #onSessionOpen} began has ended ({@link Exchange#sessionEnded}). Called
     * on a WebSocket thread, once, before the session stops counting as open.
     */
    default void onSessionEnd(Exchange session) {}
}
