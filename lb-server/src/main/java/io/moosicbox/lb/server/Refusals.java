package io.moosicbox.lb.server;

import io.moosicbox.lb.proxy.ClientAddress;
import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.proxy.ExchangeListener;
import io.moosicbox.lb.proxy.RequestId;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.InetAddressSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the listener's refusals (limits, rate limiter), which come before the proxy handler,
 * and reports each as an exchange with no cluster and no backend: an operator sees throttled and
 * oversized requests in the metrics and the access log like any other answer. Only refusals pay
 * for this; accepted requests never pass here.
 */
final class Refusals {
    private static final Logger LOG = LoggerFactory.getLogger(Refusals.class);

    private final InetAddressSet trustedProxies;
    private volatile ExchangeListener listener = ExchangeListener.NONE;

    Refusals(InetAddressSet trustedProxies) {
        this.trustedProxies = trustedProxies;
    }

    void setExchangeListener(ExchangeListener listener) {
        this.listener = listener;
    }

    /**
     * Writes the error, with the request's {@link RequestId} for the user to quote (the access log
     * line has the same), and reports it once written (or failed), before Jetty may recycle the request.
     */
    boolean refuse(Request request, Response response, Callback callback, int status, String reason) {
        String requestId = RequestId.of(request);
        response.getHeaders().put(RequestId.HEADER, requestId);
        Response.writeError(request, response, callback(request, response, callback, requestId), status, reason);
        return true;
    }

    /** The callback reports the refusal once it is written. */
    private Callback callback(Request request, Response response, Callback callback, String requestId) {
        ExchangeListener l = listener;
        if (l == ExchangeListener.NONE) {
            return callback;
        }
        return Callback.from(() -> report(l, request, response, requestId), callback);
    }

    private void report(ExchangeListener l, Request request, Response response, String requestId) {
        try {
            l.onComplete(Exchange.refused(request, ClientAddress.of(request, trustedProxies), response.getStatus(),
                    Response.getContentBytesWritten(response), requestId));
        } catch (RuntimeException e) {
            LOG.warn("exchange listener failed", e);
        }
    }
}
