package io.moosicbox.lb.websocket;

import io.moosicbox.lb.proxy.BalancingProxyHandler;
import io.moosicbox.lb.proxy.PlainTextError;
import io.moosicbox.lb.proxy.RequestId;
import io.moosicbox.lb.proxy.RequestTarget;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Lease;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.server.JettyServerUpgradeRequest;
import org.eclipse.jetty.ee10.websocket.server.JettyServerUpgradeResponse;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServerContainer;
import org.eclipse.jetty.ee10.websocket.server.config.JettyWebSocketServletContainerInitializer;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.eclipse.jetty.util.component.Graceful;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.api.exceptions.UpgradeException;
import org.eclipse.jetty.websocket.common.SessionTracker;
import org.eclipse.jetty.websocket.core.WebSocketConnection;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.eclipse.jetty.websocket.client.JettyUpgradeListener;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket proxying, which Jetty's proxy servlets do not do: the backend is connected first (so a
 * refusal is still an HTTP status for the client), then the client is upgraded and a
 * {@link WebSocketTunnel} joins the two sessions. A server bean: it starts and stops with the
 * server, and as a {@link Graceful} it keeps sessions open for the grace time on shutdown, then
 * closes them with 1001 before the shutdown timeout ends.
 */
public final class WebSocketProxy extends ContainerLifeCycle implements Graceful {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketProxy.class);
    /** Request headers the balancer sets itself (hop-by-hop ones aside: {@link HopByHop}). */
    private static final Set<String> NOT_COPIED = Set.of(
            "host", "content-length", "sec-websocket-key", "sec-websocket-version",
            "sec-websocket-extensions", "sec-websocket-protocol", "sec-websocket-accept",
            "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-server",
            "forwarded");
    /** Response headers of the backend's 101 that the client's 101 gets from Jetty (hop-by-hop ones aside). */
    private static final Set<String> NOT_RETURNED = Set.of(
            "content-length", "date", "server", "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions");
    /** Headers of a refusal worth passing on: what the client needs to retry right. */
    private static final List<HttpHeader> REFUSAL_HEADERS = List.of(HttpHeader.WWW_AUTHENTICATE, HttpHeader.RETRY_AFTER);

    private final LbConfig.WebSocketConfig config;
    private final LbConfig.Timeouts timeouts;
    private final Duration shutdownTimeout;
    private final WebSocketClient client;
    private final Scheduler scheduler;
    private final SessionRegistry registry;

    public WebSocketProxy(LbConfig.WebSocketConfig config, LbConfig.Timeouts timeouts, Duration shutdownTimeout) {
        this.config = config;
        this.timeouts = timeouts;
        this.shutdownTimeout = shutdownTimeout;
        HttpClient http = new HttpClient();
        http.setName("lb-ws-client");
        http.setConnectTimeout(timeouts.connect().toMillis());
        // Cookies are per client: a shared store would hand one user's cookies to the next.
        http.setHttpCookieStore(new HttpCookieStore.Empty());
        http.setUserAgentField(null);
        // A backend's redirect is its answer, not an address to connect to: followed, it bridged the
        // client to whatever host the Location named, outside the backend list.
        http.setFollowRedirects(false);
        http.setMaxRequestHeadersSize(BalancingProxyHandler.MAX_BACKEND_REQUEST_HEADER_BYTES);
        client = new WebSocketClient(http);
        client.setIdleTimeout(config.idleTimeout());
        client.setConnectTimeout(timeouts.connect().toMillis());
        // The balancer only forwards pieces of messages; the whole-message limits are the endpoints' business.
        client.setMaxTextMessageSize(Long.MAX_VALUE);
        client.setMaxBinaryMessageSize(Long.MAX_VALUE);
        withoutShutdownClose(client);
        scheduler = new ScheduledExecutorScheduler("lb-ws-scheduler", true);
        registry = new SessionRegistry(config.drainGrace());
        addBean(scheduler);
        addBean(client);
    }

    /** How wss:// backends are verified: as the HTTP proxy does (BACKEND_CA_FILE, ...); before start. */
    public void setBackendTls(SslContextFactory.Client backendTls) {
        client.getHttpClient().setSslContextFactory(backendTls);
    }

    /** Enables WebSocket upgrades on the proxy context; call before the server starts. */
    public void install(ServletContextHandler proxyContext) {
        JettyWebSocketServletContainerInitializer.configure(proxyContext, (context, container) -> {
            container.setIdleTimeout(config.idleTimeout());
            container.setMaxTextMessageSize(Long.MAX_VALUE);
            container.setMaxBinaryMessageSize(Long.MAX_VALUE);
            withoutShutdownClose(container);
        });
    }

    /**
     * Jetty's session trackers close every session with 1001 as soon as a graceful stop begins;
     * this class closes them itself after the grace time, so the trackers must not be found then.
     */
    private static void withoutShutdownClose(ContainerLifeCycle webSocketContainer) {
        SessionTracker tracker = webSocketContainer.getBean(SessionTracker.class);
        if (tracker != null) {
            webSocketContainer.removeBean(tracker);
        }
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        scheduleDrainCheck();
    }

    private void scheduleDrainCheck() {
        long every = Math.clamp(config.drainGrace().toMillis() / 4, 100, 1000);
        scheduler.schedule(() -> {
            if (isRunning()) {
                registry.closeDrained(System.nanoTime());
                scheduleDrainCheck();
            }
        }, every, TimeUnit.MILLISECONDS);
    }

    /**
     * Whether the request asks for a WebSocket; such requests go to {@link #upgrade}, through a
     * {@link WebSocketUpgradeHeader}.
     */
    public static boolean isUpgradeRequest(org.eclipse.jetty.server.Request request) {
        return WebSocketUpgradeHeader.asksForWebSocket(request);
    }

    /** Whether a client connection was upgraded to a WebSocket. */
    public static boolean isWebSocket(EndPoint endPoint) {
        return endPoint.getConnection() instanceof WebSocketConnection;
    }

    /** Open proxied sessions, all backends together. */
    public int openSessions() {
        return registry.size();
    }

    /** Open proxied sessions on one backend (they are part of its in-flight count too). */
    public int openSessions(Backend backend) {
        return registry.count(backend);
    }

    /**
     * Connects to the backend, then upgrades the client, or answers the client with an error.
     * The lease is released when the session ends, or before this returns when there is none.
     *
     * @param pathQuery the client's request target, which every backend tried gets
     * @param forwarded the forwarding headers the backend gets
     * @param retry     the next backend when one could not be reached, as for plain requests
     * @return the backend tried last (the one serving the session, or the last to refuse), the
     *     retries and the backend's handshake time, for the access log
     */
    public Upgrade upgrade(HttpServletRequest request, HttpServletResponse response, Lease lease, String pathQuery,
                       HttpFields forwarded, Retry retry) throws IOException {
        URI backendUri;
        try {
            backendUri = backendUri(lease, pathQuery);
        } catch (UncheckedIOException e) {
            lease.release(true);
            refuse(response, HttpStatus.BAD_GATEWAY_502, "the backend's host name does not resolve", Map.of(), forwarded);
            return new Upgrade(lease, 0, -1, null);
        }
        if (backendUri == null) {
            lease.release(false);
            refuse(response, HttpStatus.BAD_REQUEST_400, "the request URI is not valid", Map.of(), forwarded);
            return new Upgrade(lease, 0, -1, null);
        }
        if (!validHandshake(request)) {
            // Refused here, before Jetty's container: it answered some of these itself and logged a
            // WARN for each (a blocking callback it left incomplete), which anyone could repeat at will.
            lease.release(false);
            refuse(response, HttpStatus.BAD_REQUEST_400, "not a valid WebSocket handshake", Map.of(), forwarded);
            return new Upgrade(lease, 0, -1, null);
        }
        Handshake handshake = new Handshake(request, lease, pathQuery, backendUri, forwarded, retry);
        JettyWebSocketServerContainer container = JettyWebSocketServerContainer.getContainer(request.getServletContext());
        boolean upgraded;
        try {
            upgraded = container.upgrade(handshake::create, request, response);
        } catch (IOException | RuntimeException e) {
            handshake.abandon();
            if (e instanceof HttpException refused && refused.getCode() >= 400 && refused.getCode() < 500) {
                // What Jetty's container cannot parse (a malformed Sec-WebSocket-Extensions): thrown, it
                // was answered by Jetty, without the request id, and reached neither the log nor the metrics.
                refuse(response, refused.getCode(), "not a valid WebSocket handshake", Map.of(), forwarded);
                return new Upgrade(handshake.lease(), handshake.retries, handshake.upstreamNanos, null);
            }
            throw e;
        }
        if (!upgraded) {
            handshake.abandon();
            refuse(response, HttpStatus.BAD_REQUEST_400, "not a valid WebSocket handshake", Map.of(), forwarded);
        } else if (handshake.refusal != 0) {
            refuse(response, handshake.refusal, handshake.refusalReason, handshake.refusalHeaders, forwarded);
        }
        return new Upgrade(handshake.lease(), handshake.retries, handshake.upstreamNanos,
                upgraded && handshake.refusal == 0 ? handshake.tunnel.ended() : null);
    }

    /**
     * What {@link #upgrade} did, for the access log.
     *
     * @param lease         the backend tried last: the one serving the session, or the last to refuse
     * @param retries       how many other backends were tried after one that could not be reached
     * @param upstreamNanos the handshake with the backend tried last; -1 when none was tried
     * @param session       completes when the session ends; null when the client was not upgraded
     */
    public record Upgrade(Lease lease, int retries, long upstreamNanos, CompletableFuture<WebSocketTunnel.Ended> session) {}

    /**
     * What Jetty's container asks of a handshake (RFC 6455 4.2.1): HTTP/1.1, version 13, a key. Its
     * Upgrade is {@link WebSocketUpgradeHeader}'s; one without Connection: upgrade never gets here
     * (the listeners' {@code Http1ConnectionFactory} drops such an Upgrade, and it is a plain request).
     */
    static boolean validHandshake(HttpServletRequest request) {
        String key = request.getHeader("Sec-WebSocket-Key");
        return "HTTP/1.1".equals(request.getProtocol()) && "13".equals(request.getHeader("Sec-WebSocket-Version"))
                && key != null && !key.isBlank();
    }

    /**
     * Another backend for a handshake whose backend could not be reached.
     *
     * @param max  how many other backends may be tried (the cluster's {@code retries})
     * @param next a lease on a backend other than the one given, or null when there is none
     */
    public record Retry(int max, Function<Backend, Lease> next) {}

    /**
     * @return null for a target no backend can be sent: a % without two hex digits after it, or
     *     characters java.net.URI refuses (| { } ^), with which Jetty's own side of the upgrade fails too
     */
    private static URI backendUri(Lease lease, String pathQuery) {
        String target = RequestTarget.forBackend(pathQuery);
        if (target == null) {
            return null;
        }
        try {
            return URI.create("ws" + lease.backend().connectUrl().toString().substring(4) + target);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Whether the backend was never reached (refused, unroutable): the handshake can go elsewhere. */
    private static boolean notReached(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof java.net.ConnectException || t instanceof java.net.NoRouteToHostException
                    || t instanceof java.nio.channels.UnresolvedAddressException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The same short plain-text answer as the HTTP proxy gives, with the request id the backend
     * would have got ({@code forwarded} holds it).
     */
    private static int refuse(HttpServletResponse response, int status, String reason, Map<String, String> headers,
                              HttpFields forwarded) {
        if (response.isCommitted()) {
            return status;
        }
        try {
            response.reset();
            response.setStatus(status);
            // A client that asked for an upgrade and got none starts over on a new connection.
            response.setHeader(HttpHeader.CONNECTION.asString(), "close");
            headers.forEach(response::setHeader);
            String requestId = forwarded.get(RequestId.HEADER);
            if (requestId != null) {
                response.setHeader(RequestId.HEADER, requestId);
            }
            if (status == HttpStatus.SERVICE_UNAVAILABLE_503 && !headers.containsKey(HttpHeader.RETRY_AFTER.asString())) {
                response.setHeader(HttpHeader.RETRY_AFTER.asString(), "1");
            }
            PlainTextError.writeBody(response, status, reason);
        } catch (IOException | IllegalStateException e) {
            LOG.debug("could not send {} to the client", status, e);
        }
        return status;
    }

    @Override
    public CompletableFuture<Void> shutdown() {
        CompletableFuture<Void> done = registry.shutdown();
        // Closed early enough that the close handshakes finish within the shutdown timeout.
        long closeIn = Math.clamp(shutdownTimeout.minus(WebSocketTunnel.CLOSE_TIMEOUT).toMillis(), 0, config.drainGrace().toMillis());
        if (!done.isDone()) {
            LOG.info("{} WebSocket sessions open: closing them in {} ms", registry.size(), closeIn);
            scheduler.schedule(() -> registry.closeAll("the balancer is shutting down"), closeIn, TimeUnit.MILLISECONDS);
        }
        return done;
    }

    @Override
    public boolean isShutdown() {
        return registry.isShutdown();
    }

    /** One client's handshake: the backend connection it needs, and what to answer if there is none. */
    private final class Handshake implements JettyUpgradeListener {
        private final HttpServletRequest request;
        private final String pathQuery;
        private final HttpFields forwarded;
        private final Retry retry;
        // The backend tried now; another one after a connection that could not be made.
        private Lease lease;
        private URI backendUri;
        private WebSocketTunnel tunnel;
        private int retries;
        private long upstreamNanos = -1;
        // Why the backend tried last gave no session: one never reached may be replaced by another.
        private Throwable lastFailure;
        private int refusal;
        private String refusalReason;
        private Map<String, String> refusalHeaders = Map.of();

        Handshake(HttpServletRequest request, Lease lease, String pathQuery, URI backendUri, HttpFields forwarded, Retry retry) {
            this.request = request;
            this.pathQuery = pathQuery;
            this.forwarded = forwarded;
            this.retry = retry;
            this.lease = lease;
            this.backendUri = backendUri;
            this.tunnel = new WebSocketTunnel(lease, scheduler, registry::remove);
        }

        /** The lease of the backend tried last: the one that serves the session, or the one that refused. */
        Lease lease() {
            return lease;
        }

        /** Jetty's creator: runs once the client's handshake is valid, on the request's (virtual) thread. */
        Object create(JettyServerUpgradeRequest upgradeRequest, JettyServerUpgradeResponse upgradeResponse) {
            while (true) {
                Object created = connect(upgradeRequest, upgradeResponse);
                if (created != null || !(lastFailure != null && notReached(lastFailure)) || !nextBackend()) {
                    return created;
                }
            }
        }

        /**
         * After a backend that could not be reached (its error and failure already recorded), the
         * next one, as a plain request would go: nothing was sent, so any handshake may.
         */
        private boolean nextBackend() {
            if (retries >= retry.max()) {
                return false;
            }
            Lease next = retry.next().apply(lease.backend());
            if (next == null) {
                return false;
            }
            URI uri;
            try {
                uri = backendUri(next, pathQuery);
            } catch (UncheckedIOException e) {
                uri = null;
            }
            if (uri == null) {
                // As for a first attempt: a backend name that does not resolve is the backend's failure.
                next.release(true);
                return false;
            }
            lease.backend().recordRetry();
            retries++;
            lease = next;
            backendUri = uri;
            tunnel = new WebSocketTunnel(next, scheduler, registry::remove);
            refusal = 0;
            refusalReason = null;
            refusalHeaders = Map.of();
            lastFailure = null;
            return true;
        }

        private Object connect(JettyServerUpgradeRequest upgradeRequest, JettyServerUpgradeResponse upgradeResponse) {
            ClientUpgradeRequest backendRequest = new ClientUpgradeRequest(backendUri);
            backendRequest.setSubProtocols(upgradeRequest.getSubProtocols());
            long headersTimeout = timeouts.responseHeaders().toMillis();
            if (headersTimeout > 0) {
                backendRequest.setTimeout(headersTimeout, TimeUnit.MILLISECONDS);
            }
            CompletableFuture<Session> connecting;
            Session backend;
            long began = System.nanoTime();
            try {
                connecting = client.connect(tunnel.backendSide(), backendRequest, this);
            } catch (IOException | RuntimeException e) {
                return refused(e);
            }
            try {
                // Jetty's own timeouts end this first; the bound only guards against a hang.
                long bound = timeouts.connect().toMillis() + (headersTimeout > 0 ? headersTimeout : 3_600_000L) + 5_000;
                backend = connecting.get(bound, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                upstreamNanos = System.nanoTime() - began;
                return refused(e.getCause());
            } catch (TimeoutException | InterruptedException e) {
                upstreamNanos = System.nanoTime() - began;
                connecting.thenAccept(Session::disconnect);
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                return refused(new TimeoutException("no WebSocket handshake from the backend in time"));
            }
            upstreamNanos = System.nanoTime() - began;
            if (!registry.add(tunnel)) {
                backend.close(StatusCode.SHUTDOWN, "the balancer is shutting down", Callback.NOOP);
                refusal = HttpStatus.SERVICE_UNAVAILABLE_503;
                refusalReason = "the balancer is shutting down";
                lease.release(false);
                return null;
            }
            upgradeResponse.setExtensions(DeflateOffers.choose(upgradeRequest.getExtensions(), upgradeResponse.getExtensions()));
            String protocol = backend.getUpgradeResponse().getAcceptedSubProtocol();
            if (protocol != null) {
                upgradeResponse.setAcceptedSubProtocol(protocol);
            }
            HopByHop hopByHop = HopByHop.of(backend.getUpgradeResponse().getHeaders(HttpHeader.CONNECTION.asString()));
            backend.getUpgradeResponse().getHeaders().forEach((name, values) -> {
                if (!NOT_RETURNED.contains(name.toLowerCase(Locale.ROOT)) && !hopByHop.contains(name)) {
                    values.forEach(v -> upgradeResponse.addHeader(name, v));
                }
            });
            return tunnel.clientSide();
        }

        /** Records why the backend gave no session; the client gets the matching status. */
        private Object refused(Throwable failure) {
            lastFailure = failure;
            boolean timeout = isTimeout(failure);
            int answered = failure instanceof UpgradeException u ? u.getResponseStatusCode() : 0;
            if (answered >= 400) {
                refusal = answered;
                refusalReason = "the backend refused the WebSocket upgrade";
                lease.release(false);
            } else if (answered > 0) {
                refusal = HttpStatus.BAD_GATEWAY_502;
                refusalReason = "the backend answered " + answered + " instead of a WebSocket upgrade";
                lease.release(false);
            } else {
                refusal = timeout ? HttpStatus.GATEWAY_TIMEOUT_504 : HttpStatus.BAD_GATEWAY_502;
                refusalReason = timeout ? "the backend did not answer in time" : "the backend could not be reached or failed";
                lease.backend().recordError("WebSocket: " + describe(failure));
                lease.release(true);
            }
            LOG.debug("WebSocket upgrade to {} refused: {}", lease.backend(), describe(failure));
            return null;
        }

        /** The client will not be upgraded after all. */
        void abandon() {
            if (refusal == 0) {
                tunnel.abandon();
            }
            lease.release(false);
        }

        @Override
        public void onHandshakeRequest(Request backendRequest) {
            HopByHop hopByHop = HopByHop.of(Collections.list(request.getHeaders(HttpHeader.CONNECTION.asString())));
            backendRequest.headers(h -> {
                for (String name : Collections.list(request.getHeaderNames())) {
                    if (!NOT_COPIED.contains(name.toLowerCase(Locale.ROOT)) && !hopByHop.contains(name)) {
                        for (String value : Collections.list(request.getHeaders(name))) {
                            h.add(name, value);
                        }
                    }
                }
                // The backend sees the name the client asked for, as with plain HTTP requests.
                h.put(HttpHeader.HOST, request.getHeader("Host"));
                for (HttpField f : forwarded) {
                    h.put(f);
                }
            });
        }

        @Override
        public void onHandshakeResponse(Request backendRequest, Response backendResponse) {
            if (backendResponse.getStatus() != HttpStatus.SWITCHING_PROTOCOLS_101) {
                Map<String, String> kept = new HashMap<>();
                for (HttpHeader h : REFUSAL_HEADERS) {
                    String v = backendResponse.getHeaders().get(h);
                    if (v != null) {
                        kept.put(h.asString(), v);
                    }
                }
                refusalHeaders = kept;
            }
        }
    }

    private static boolean isTimeout(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException || t instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private static String describe(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message != null ? ": " + message : "");
    }
}
