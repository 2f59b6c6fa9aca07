package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.Lease;
import io.moosicbox.lb.pool.RequestInfo;
import io.moosicbox.lb.route.Router;
import io.moosicbox.lb.websocket.WebSocketProxy;
import io.moosicbox.lb.websocket.WebSocketTunnel;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.ee10.servlet.ServletContextResponse;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.InetAddressSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket upgrades, routed and balanced like any request, then bridged by {@link WebSocketProxy}
 * (Jetty's proxy does not carry WebSockets). Runs on a virtual thread: the handshake with the
 * backend and a wait for room in a full cluster block.
 */
public final class WebSocketUpgradeServlet extends HttpServlet {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketUpgradeServlet.class);

    private final transient Supplier<Router> router;
    private final transient WebSocketProxy webSockets;
    private transient volatile ExchangeListener listener = ExchangeListener.NONE;
    private transient volatile InetAddressSet trustedProxies = new InetAddressSet();

    public WebSocketUpgradeServlet(Supplier<Router> router, WebSocketProxy webSockets) {
        this.router = router;
        this.webSockets = webSockets;
    }

    /** Peers whose X-Forwarded-* and Forwarded headers are kept and appended to, as on plain requests. */
    public void setTrustedProxies(InetAddressSet trusted) {
        this.trustedProxies = trusted;
    }

    public void setExchangeListener(ExchangeListener listener) {
        this.listener = listener;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        long start = System.nanoTime();
        Request client = ServletContextRequest.getServletContextRequest(request);
        String requestId = RequestId.of(client);
        Router.Route route = router.get().route(ForwardedHeaders.hostOf(client), ForwardedHeaders.routingPath(client));
        Cluster cluster = route.cluster();
        WebSocketProxy.Upgrade upgrade = null;
        Lease lease;
        RequestInfo info;
        if (cluster == null) {
            refuse(response, route.miss().status(), route.miss().reason(), requestId);
        } else if ((lease = cluster.acquire(info = new CoreRequestInfo(client, trustedProxies))) == null) {
            refuse(response, HttpStatus.SERVICE_UNAVAILABLE_503, PlainTextError.unavailable(cluster), requestId);
        } else {
            HttpFields.Mutable forwarded = ForwardedHeaders.of(client, ForwardedHeaders.fromTrustedProxy(client, trustedProxies));
            forwarded.put(RequestId.HEADER, requestId);
            RequestInfo retryInfo = info;
            Set<Backend> tried = new HashSet<>(4);
            WebSocketProxy.Retry retry = new WebSocketProxy.Retry(cluster.config().pool().retries(),
                    failed -> {
                        tried.add(failed);
                        return cluster.tryAcquire(retryInfo, tried);
                    });
            upgrade = webSockets.upgrade(request, response, lease, client.getHttpURI().getPathQuery(), forwarded, retry);
        }
        report(client, response, cluster, upgrade, start, requestId);
    }

    private static void refuse(HttpServletResponse response, int status, String reason, String requestId) throws IOException {
        response.setStatus(status);
        response.setHeader(RequestId.HEADER, requestId);
        // A client that asked for an upgrade and got none starts over on a new connection.
        response.setHeader(HttpHeader.CONNECTION.asString(), "close");
        if (status == HttpStatus.SERVICE_UNAVAILABLE_503) {
            response.setHeader(HttpHeader.RETRY_AFTER.asString(), "1");
        }
        PlainTextError.writeBody(response, status, reason);
    }

    private void report(Request client, HttpServletResponse response, Cluster cluster, WebSocketProxy.Upgrade upgrade, long start,
                        String requestId) {
        ExchangeListener l = listener;
        if (l == ExchangeListener.NONE) {
            return;
        }
        try {
            int status = response.getStatus();
            Exchange handshake = Exchange.of(client, ClientAddress.of(client, trustedProxies), status,
                    Response.getContentBytesWritten(ServletContextResponse.getServletContextResponse(response)),
                    cluster, upgrade == null ? null : upgrade.lease(), start, upgrade == null ? -1 : upgrade.upstreamNanos(),
                    upgrade == null ? 0 : upgrade.retries(),
                    status == HttpStatus.BAD_GATEWAY_502 || status == HttpStatus.GATEWAY_TIMEOUT_504, Exchange.End.COMPLETE, requestId);
            CompletableFuture<WebSocketTunnel.Ended> session = upgrade == null ? null : upgrade.session();
            if (session == null || status != HttpStatus.SWITCHING_PROTOCOLS_101) {
                l.onComplete(handshake);
                return;
            }
            l.onSessionOpen(handshake);
            // The request is recycled by the time the session ends: what the report needs was copied above.
            session.thenAccept(ended -> {
                try {
                    l.onSessionEnd(handshake.sessionEnded(System.nanoTime() - start, ended.bytesToClient(), ended.end()));
                } catch (RuntimeException e) {
                    LOG.warn("exchange listener failed", e);
                }
            });
        } catch (RuntimeException e) {
            LOG.warn("exchange listener failed", e);
        }
    }
}
