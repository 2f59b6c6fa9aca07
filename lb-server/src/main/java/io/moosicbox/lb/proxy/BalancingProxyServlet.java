package io.moosicbox.lb.proxy;

import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.Lease;
import io.moosicbox.lb.route.Router;
import io.moosicbox.lb.tls.BackendTls;
import io.moosicbox.lb.websocket.WebSocketProxy;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.eclipse.jetty.client.AsyncRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.ee10.servlet.ServletContextResponse;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.InetAddressSet;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The proxy: picks a backend per request in {@link #rewriteTarget}, streams the exchange through
 * Jetty's {@link AsyncProxyServlet}, and keeps the backend's in-flight count exact.
 */
public class BalancingProxyServlet extends AsyncProxyServlet {

    private final Supplier<Router> router;
    private final LbConfig.Timeouts timeouts;
    private volatile ExchangeListener listener = ExchangeListener.NONE;
    private BackendTls backendTls = new BackendTls(LbConfig.BackendTls.defaults());
    private volatile WebSocketProxy webSockets;
    private volatile InetAddressSet trustedProxies = new InetAddressSet();

    public BalancingProxyServlet(Supplier<Router> router, LbConfig.Timeouts timeouts) {
        this.router = router;
        this.timeouts = timeouts;
    }

    public void setExchangeListener(ExchangeListener listener) {
        this.listener = listener;
    }

    /** How https:// backends are verified, and whether they get HTTP/2; set before the server starts. */
    public void setBackendTls(BackendTls backendTls) {
        this.backendTls = backendTls;
    }

    @Override
    protected HttpClient newHttpClient(ClientConnector connector) {
        return backendTls.newHttpClient(connector);
    }

    /** Requests with {@code Upgrade: websocket} go there, routed and balanced like any other. */
    public void setWebSocketProxy(WebSocketProxy webSockets) {
        this.webSockets = webSockets;
    }

    /** Peers whose X-Forwarded-* and Forwarded headers are kept and appended to. */
    public void setTrustedProxies(InetAddressSet trusted) {
        this.trustedProxies = trusted;
    }

    @Override
    protected HttpClient newHttpClient() {
        HttpClient client = super.newHttpClient();
        client.setConnectTimeout(timeouts.connect().toMillis());
        // The client's own User-Agent passes through; without one, none is invented.
        client.setUserAgentField(null);
        return client;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws ServletException, IOException {
        ProxyExchange exchange = ProxyExchange.start(request);
        try {
            if (webSockets != null && WebSocketProxy.isUpgradeRequest(request)) {
                proxyWebSocket(request, response);
                return;
            }
            super.service(request, response);
        } catch (Throwable failure) {
            // The exchange never started: nothing else will release the backend.
            Lease lease = exchange.lease;
            if (lease != null) {
                lease.release(false);
            }
            throw failure;
        }
    }

    private void proxyWebSocket(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String target = rewriteTarget(request);
        if (target == null) {
            onProxyRewriteFailed(request, response);
            return;
        }
        HttpFields.Mutable forwarded = HttpFields.build();
        ForwardedHeaders.set(request, forwarded);
        int status = webSockets.upgrade(request, response, ProxyExchange.of(request).lease, target, forwarded);
        report(request, response, status == HttpStatus.BAD_GATEWAY_502 || status == HttpStatus.GATEWAY_TIMEOUT_504);
    }

    @Override
    protected String rewriteTarget(HttpServletRequest request) {
        ProxyExchange exchange = ProxyExchange.of(request);
        Router.Route route = router.get().route(ForwardedHeaders.hostOf(request), request.getRequestURI());
        if (route.cluster() == null) {
            exchange.miss = route.miss();
            return null;
        }
        Cluster cluster = route.cluster();
        exchange.cluster = cluster;
        // May wait (on this virtual thread) in the cluster's queue while every backend is at max_conns.
        Lease lease = cluster.acquire(new ServletRequestInfo(request));
        if (lease == null) {
            if (!cluster.available().isEmpty()) {
                exchange.busy = true;
            }
            return null;
        }
        exchange.lease = lease;
        return targetOf(lease.backend(), request);
    }

    private static String targetOf(Backend backend, HttpServletRequest request) {
        String query = request.getQueryString();
        String uri = request.getRequestURI();
        return query == null ? backend.baseUrl() + uri : backend.baseUrl() + uri + "?" + query;
    }

    @Override
    protected void onProxyRewriteFailed(HttpServletRequest request, HttpServletResponse response) {
        ProxyExchange exchange = ProxyExchange.of(request);
        Router.Miss miss = exchange.miss;
        if (miss == Router.Miss.UNKNOWN_HOST) {
            sendError(request, response, HttpStatus.MISDIRECTED_REQUEST_421, "no route for this host");
        } else if (miss == Router.Miss.NO_PATH) {
            sendError(request, response, HttpStatus.NOT_FOUND_404, "no route for this path");
        } else if (exchange.busy) {
            sendError(request, response, HttpStatus.SERVICE_UNAVAILABLE_503, "every backend is at its connection limit");
        } else {
            sendError(request, response, HttpStatus.SERVICE_UNAVAILABLE_503, "no backend is available");
        }
    }

    @Override
    protected void copyRequestHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
        super.copyRequestHeaders(clientRequest, proxyRequest);
        // HTTP/2 clients send :authority, not Host; the backend still gets the name the client asked for.
        // Not over HTTP/2 to the backend: a Host that differs from :authority is forbidden there (RFC 9113 8.3.1).
        proxyRequest.headers(h -> {
            if (backendTls.http2()) {
                h.remove(HttpHeader.HOST);
            } else {
                h.put(HttpHeader.HOST, ForwardedHeaders.hostOf(clientRequest));
            }
        });
    }

    @Override
    protected void addProxyHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
        addViaHeader(clientRequest, proxyRequest);
        boolean trusted = !trustedProxies.isEmpty() && isTrusted(clientRequest.getRemoteAddr());
        proxyRequest.headers(h -> ForwardedHeaders.set(clientRequest, h, trusted));
    }

    /** Jetty drops only the fixed hop-by-hop list from responses; the ones the backend names in Connection go too. */
    @Override
    protected HttpField filterServerResponseHeader(HttpServletRequest clientRequest, org.eclipse.jetty.client.Response serverResponse,
                                                   HttpField field) {
        HttpField kept = super.filterServerResponseHeader(clientRequest, serverResponse, field);
        if (kept == null) {
            return null;
        }
        return serverResponse.getHeaders().contains(HttpHeader.CONNECTION, kept.getName()) ? null : kept;
    }

    @Override
    protected void sendProxyRequest(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Request proxyRequest) {
        ProxyExchange exchange = ProxyExchange.of(clientRequest);
        Lease lease = exchange.lease;
        proxyRequest.onRequestBegin(r -> exchange.sentNanos = System.nanoTime());
        proxyRequest.onResponseBegin(r -> {
            long sent = exchange.sentNanos;
            if (sent != 0) {
                exchange.upstreamNanos = System.nanoTime() - sent;
                lease.backend().recordLatency(exchange.upstreamNanos);
            }
        });
        proxyRequest.onComplete(result -> {
            // A client that hung up or sent a broken body says nothing about the backend.
            boolean backendFailure = !exchange.clientFailure && isBackendFailure(result);
            exchange.backendFailure = backendFailure;
            lease.release(backendFailure || isCounted5xx(exchange, result));
        });
        if (exchange.retries == 0) {
            // Reported when the client's response is complete, so that proxy-made error statuses are seen; once, not per retry.
            clientRequest.getAsyncContext().addListener(new AsyncListener() {
                @Override
                public void onComplete(AsyncEvent event) {
                    report(clientRequest, proxyResponse, exchange.backendFailure);
                }

                @Override
                public void onTimeout(AsyncEvent event) {}

                @Override
                public void onError(AsyncEvent event) {}

                @Override
                public void onStartAsync(AsyncEvent event) {}
            });
        }
        long headersTimeout = timeouts.responseHeaders().toMillis();
        if (headersTimeout > 0) {
            // Starts when the request is fully sent, so a long upload is not mistaken for a slow backend.
            // The response may begin before the request-success callback runs: the cancel listeners are
            // registered first, and a timer set after the response began is cancelled at once.
            java.util.concurrent.atomic.AtomicReference<Object> timer = new java.util.concurrent.atomic.AtomicReference<>();
            Runnable cancel = () -> {
                if (timer.getAndSet(Boolean.TRUE) instanceof Scheduler.Task task) {
                    task.cancel();
                }
            };
            proxyRequest.onResponseBegin(response -> cancel.run());
            proxyRequest.onComplete(result -> cancel.run());
            proxyRequest.onRequestSuccess(r -> {
                Scheduler.Task task = getHttpClient().getScheduler().schedule(
                        () -> proxyRequest.abort(new TimeoutException("no response headers within " + headersTimeout + " ms")),
                        headersTimeout, TimeUnit.MILLISECONDS);
                if (!timer.compareAndSet(null, task)) {
                    task.cancel();
                }
            });
        }
        super.sendProxyRequest(clientRequest, proxyResponse, proxyRequest);
    }

    @Override
    protected void onProxyResponseFailure(HttpServletRequest clientRequest, HttpServletResponse proxyResponse,
                                          org.eclipse.jetty.client.Response serverResponse, Throwable failure) {
        Lease lease = ProxyExchange.of(clientRequest).lease;
        if (lease != null && serverResponse.getStatus() == 0) {
            lease.backend().recordError(describe(failure));
        }
        if (lease != null && retry(clientRequest, proxyResponse, lease, failure)) {
            return;
        }
        super.onProxyResponseFailure(clientRequest, proxyResponse, serverResponse, failure);
    }

    @Override
    protected void onClientRequestFailure(HttpServletRequest clientRequest, Request proxyRequest,
                                          HttpServletResponse proxyResponse, Throwable failure) {
        ProxyExchange.of(clientRequest).clientFailure = true;
        super.onClientRequestFailure(clientRequest, proxyRequest, proxyResponse, failure);
    }

    /**
     * Reads the client's body only once a connection to the backend is up: a connect failure then
     * leaves the body unread, and the request can still go to another backend.
     */
    @Override
    protected Request.Content proxyRequestContent(HttpServletRequest request, HttpServletResponse response, Request proxyRequest)
            throws IOException {
        if (expects100Continue(request)) {
            return super.proxyRequestContent(request, response, proxyRequest);
        }
        AsyncRequestContent content = new AsyncRequestContent();
        proxyRequest.onRequestBegin(r -> {
            try {
                request.getInputStream().setReadListener(newReadListener(request, response, proxyRequest, content));
            } catch (IOException | RuntimeException e) {
                onClientRequestFailure(request, proxyRequest, response, e);
            }
        });
        return content;
    }

    /** A client whose upload breaks off fails the backend request: that must not count against the backend. */
    @Override
    protected ReadListener newReadListener(HttpServletRequest request, HttpServletResponse response, Request proxyRequest,
                                           AsyncRequestContent content) {
        return new StreamReader(request, response, proxyRequest, content) {
            @Override
            public void onError(Throwable failure) {
                ProxyExchange.of(request).clientFailure = true;
                super.onError(failure);
            }
        };
    }

    /** Sends a failed attempt to another backend when {@link RetryPolicy} allows; @return whether it did */
    private boolean retry(HttpServletRequest request, HttpServletResponse response, Lease failed, Throwable failure) {
        ProxyExchange exchange = ProxyExchange.of(request);
        Cluster cluster = exchange.cluster;
        boolean sent = exchange.sentNanos != 0;
        boolean answered = exchange.upstreamNanos >= 0;
        if (cluster == null || response.isCommitted() || exchange.clientFailure
                || !RetryPolicy.permits(request.getMethod(), hasContent(request), sent, answered,
                        failure instanceof TimeoutException, exchange.retries, cluster.config().pool().retries())) {
            return false;
        }
        Lease next = cluster.tryAcquire(new ServletRequestInfo(request), failed.backend());
        if (next == null) {
            return false;
        }
        failed.backend().recordRetry();
        exchange.retryOn(next);
        try {
            Request proxyRequest = newProxyRequest(request, targetOf(next.backend(), request));
            copyRequestHeaders(request, proxyRequest);
            addProxyHeaders(request, proxyRequest);
            proxyRequest.timeout(getTimeout(), TimeUnit.MILLISECONDS);
            if (hasContent(request)) {
                proxyRequest.body(proxyRequestContent(request, response, proxyRequest));
            }
            sendProxyRequest(request, response, proxyRequest);
            return true;
        } catch (IOException | RuntimeException e) {
            next.release(false);
            _log.debug("could not retry on {}", next.backend(), e);
            return false;
        }
    }

    /** Whether the cluster counts this 5xx answer against the backend's passive health. */
    private static boolean isCounted5xx(ProxyExchange exchange, Result result) {
        return result.getResponse() != null && result.getResponse().getStatus() >= 500
                && exchange.cluster != null && exchange.cluster.config().pool().ejectOn5xx();
    }

    @Override
    protected void sendProxyResponseError(HttpServletRequest request, HttpServletResponse response, int status) {
        String reason = switch (status) {
            case HttpStatus.BAD_GATEWAY_502 -> "the backend could not be reached or failed";
            case HttpStatus.GATEWAY_TIMEOUT_504 -> "the backend did not answer in time";
            default -> HttpStatus.getMessage(status);
        };
        sendError(request, response, status, reason);
    }

    /**
     * A short plain-text answer. Once the response is committed the status can no longer change:
     * the client connection is aborted so that a truncated body is never taken as complete.
     */
    private void sendError(HttpServletRequest request, HttpServletResponse response, int status, String reason) {
        if (ProxyExchange.of(request).lease == null) {
            // No backend was involved: the proxy request's completion will not report this one.
            try {
                writeError(request, response, status, reason);
            } finally {
                report(request, response, false);
            }
            return;
        }
        writeError(request, response, status, reason);
    }

    private void writeError(HttpServletRequest request, HttpServletResponse response, int status, String reason) {
        if (response.isCommitted()) {
            super.sendProxyResponseError(request, response, status);
            return;
        }
        try {
            response.reset();
            response.setStatus(status);
            if (status == HttpStatus.SERVICE_UNAVAILABLE_503) {
                // Clients and other proxies back off instead of hammering a cluster with nothing ready.
                response.setHeader(HttpHeader.RETRY_AFTER.asString(), "1");
            }
            PlainTextError.writeBody(response, status, reason);
        } catch (IOException | IllegalStateException e) {
            _log.debug("could not send {} to the client", status, e);
        } finally {
            if (request.isAsyncStarted()) {
                request.getAsyncContext().complete();
            }
        }
    }

    /** Tells the listener about a finished exchange; never lets a listener's failure reach the client. */
    private void report(HttpServletRequest request, HttpServletResponse response, boolean backendFailure) {
        ExchangeListener l = listener;
        if (l == ExchangeListener.NONE) {
            return;
        }
        try {
            ProxyExchange exchange = ProxyExchange.of(request);
            long start = exchange.startNanos;
            Lease lease = exchange.lease;
            String query = request.getQueryString();
            l.onComplete(new Exchange(
                    exchange.cluster != null ? exchange.cluster.name() : null,
                    lease == null ? null : lease.backend().address(),
                    request.getMethod(),
                    query == null ? request.getRequestURI() : request.getRequestURI() + "?" + query,
                    response.getStatus(),
                    request.getRemoteAddr(),
                    request.getProtocol(),
                    start,
                    System.nanoTime() - start,
                    exchange.upstreamNanos,
                    exchange.retries,
                    Response.getContentBytesWritten(ServletContextResponse.getServletContextResponse(response)),
                    backendFailure,
                    request.getHeader("Referer"),
                    request.getHeader("User-Agent")));
        } catch (RuntimeException e) {
            _log.warn("exchange listener failed", e);
        }
    }

    /** Whether the exchange failed for the backend's sake: nothing came back, or it was too slow. */
    static boolean isBackendFailure(Result result) {
        if (!result.isFailed()) {
            return false;
        }
        Throwable f = result.getFailure();
        return f instanceof TimeoutException || result.getResponse() == null || result.getResponse().getStatus() == 0;
    }

    private boolean isTrusted(String peer) {
        try {
            // The servlet container gives the peer as a literal address: no name is looked up.
            return trustedProxies.test(java.net.InetAddress.getByName(peer));
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static String describe(Throwable failure) {
        String message = failure.getMessage();
        return failure.getClass().getSimpleName() + (message != null ? ": " + message : "");
    }
}
