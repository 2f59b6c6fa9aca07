package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.Lease;
import io.moosicbox.lb.route.Router;
import jakarta.servlet.http.HttpServletRequest;

/**
 * What the proxy knows about one client request while it is in flight: one object in one request
 * attribute, rather than a boxed value per fact. Written by the request's own callbacks, which
 * Jetty runs one after another; fields read from another callback are volatile.
 */
final class ProxyExchange {
    private static final String ATTRIBUTE = ProxyExchange.class.getName();

    final long startNanos = System.nanoTime();
    /** Why no cluster matched; null when one did. */
    Router.Miss miss;
    Cluster cluster;
    /** Every backend of the cluster was at its max_conns (rather than none being available). */
    boolean busy;
    /** The backend of the current attempt; null when none was picked. */
    volatile Lease lease;
    int retries;
    /** When the current attempt began sending to its backend; 0 before. */
    volatile long sentNanos;
    /** From sending to the response headers of the current attempt; -1 while none came. */
    volatile long upstreamNanos = -1;
    /** The client hung up or sent a broken body: says nothing about the backend. */
    volatile boolean clientFailure;
    volatile boolean backendFailure;

    static ProxyExchange start(HttpServletRequest request) {
        ProxyExchange exchange = new ProxyExchange();
        request.setAttribute(ATTRIBUTE, exchange);
        return exchange;
    }

    static ProxyExchange of(HttpServletRequest request) {
        return (ProxyExchange) request.getAttribute(ATTRIBUTE);
    }

    /** A new attempt on another backend starts with nothing sent and nothing answered. */
    void retryOn(Lease next) {
        retries++;
        lease = next;
        sentNanos = 0;
        upstreamNanos = -1;
    }
}
