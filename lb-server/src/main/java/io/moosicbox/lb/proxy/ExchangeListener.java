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
}
