package io.moosicbox.lb.proxy;

import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.Lease;
import io.moosicbox.lb.pool.RequestInfo;
import io.moosicbox.lb.route.Router;
import io.moosicbox.lb.tls.BackendTls;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.client.AsyncRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.HttpResponseException;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.client.transport.HttpExchange;
import org.eclipse.jetty.client.transport.HttpRequest;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.InetAddressSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy: routes each request to a cluster, picks a backend, and streams the exchange through
 * Jetty's {@link ProxyHandler}, keeping the backend's in-flight count exact. It never blocks, so
 * Jetty runs it on the thread that read the request, and the backend's answer is written back on
 * the thread that read it: no hand-off between threads per request. The one wait there is
 * (every backend at {@code max_conns}) happens on a virtual thread.
 */
public class BalancingProxyHandler extends ProxyHandler {
    private static final Logger LOG = LoggerFactory.getLogger(BalancingProxyHandler.class);
    // ProxyHandler's own protocol handlers (100 Continue, 102, 103) find the exchange under these names.
    private static final String CLIENT_REQUEST = ProxyHandler.class.getName() + ".clientToProxyRequest";
    private static final String CLIENT_RESPONSE = ProxyHandler.class.getName() + ".proxyToClientResponse";
    private static final String CONTINUE_ACTION = ProxyHandler.class.getName() + ".proxyToServerContinue";
    private static final int MAX_CONNECTIONS_PER_BACKEND = 1024;
    /** Where Jetty's failure messages start naming its connection objects ("... on oejc.HttpConnectionOverHTTP@53907d82::..."). */
    private static final Pattern JETTY_CONNECTION = Pattern.compile(" on [\\w.$]+@\\p{XDigit}+");
    /** How long a request with {@code Expect: 100-continue} waits for the backend's 100 before its body is sent anyway. */
    static final long EXPECT_CONTINUE_WAIT_MS = 1000;
    /**
     * What the backend clients may send as headers: all that the listeners accept (64 KiB) and
     * the forwarding headers the balancer adds. At Jetty's default of 8 KiB a large cookie failed
     * on the balancer's own side, and counted against the backend until it was ejected.
     */
    public static final int MAX_BACKEND_REQUEST_HEADER_BYTES = 96 * 1024;
    // Methods are case-sensitive (RFC 9110 9.1): "options" is another method, which Max-Forwards does not concern.
    private static final String OPTIONS = HttpMethod.OPTIONS.asString();
    private static final String TRACE = HttpMethod.TRACE.asString();
    /** Jetty's ProxyHandler.HOP_HEADERS: never passed on in either direction (RFC 9110 7.6.1). */
    private static final Set<HttpHeader> HOP_HEADERS = EnumSet.of(HttpHeader.CONNECTION, HttpHeader.KEEP_ALIVE,
            HttpHeader.PROXY_AUTHORIZATION, HttpHeader.PROXY_AUTHENTICATE, HttpHeader.PROXY_CONNECTION,
            HttpHeader.TRANSFER_ENCODING, HttpHeader.TE, HttpHeader.TRAILER, HttpHeader.UPGRADE);
    /**
     * Whether GET and HEAD requests to clear-text HTTP/1.1 backends go through {@link DirectConnection}s
     * rather than Jetty's client; {@code -Dmoosicbox.lb.direct=false} (in JAVA_OPTS) sends every request through Jetty's client.
     */
    static final boolean DIRECT = !"false".equals(System.getProperty("moosicbox.lb.direct"));

    /** This hop's Via element per client protocol (HTTP/1.0, 1.1, 2.0): the same few on every request. */
    private final Map<String, String> viaHops = new ConcurrentHashMap<>();
    /**
     * Marks this process's Via entries (a Via comment, RFC 9110 7.6.3), so that a request that
     * comes back (a backend that is the balancer itself) is answered 508 at once instead of
     * forwarding itself until every connection and file descriptor is used.
     */
    private final String loopMark = "(moosicbox-lb " + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ")";
    private final Supplier<Router> router;
    private final LbConfig.Timeouts timeouts;
    private final Executor waiting;
    private volatile ExchangeListener listener = ExchangeListener.NONE;
    private BackendTls backendTls = new BackendTls(LbConfig.BackendTls.defaults());
    private volatile InetAddressSet trustedProxies = new InetAddressSet();
    private HeadersDeadlines headersDeadlines;
    private int selectors = 1;
    /** Requests without a body to clear-text HTTP/1.1 backends; null when off. */
    private DirectBackends direct;

    /** @param waiting runs the requests that wait for room in a full cluster (virtual threads) */
    public BalancingProxyHandler(Supplier<Router> router, LbConfig.Timeouts timeouts, Executor waiting) {
        this.router = router;
        this.timeouts = timeouts;
        this.waiting = waiting;
    }

    public void setExchangeListener(ExchangeListener listener) {
        this.listener = listener;
    }

    /** How https:// backends are verified, and whether they get HTTP/2; set before the server starts. */
    public void setBackendTls(BackendTls backendTls) {
        this.backendTls = backendTls;
    }

    /** Threads that read and write backend connections (and run the proxy's work on them); set before start. */
    public void setSelectors(int selectors) {
        this.selectors = selectors;
    }

    /** Peers whose X-Forwarded-* and Forwarded headers are kept and appended to. */
    public void setTrustedProxies(InetAddressSet trusted) {
        this.trustedProxies = trusted;
    }

    @Override
    public InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }

    @Override
    protected void doStart() throws Exception {
        viaHops.clear();
        if (getViaHost() == null) {
            String host;
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                host = "localhost";
            }
            setViaHost(host + " " + loopMark);
        }
        if (DIRECT && !backendTls.http2()) {
            // Clear-text backends get HTTP/2 with prior knowledge when it is on: then every request goes through Jetty's client.
            direct = new DirectBackends();
            direct.setExecutor(getServer().getThreadPool());
            direct.setSelectors(selectors);
            direct.setConnectTimeout(Duration.ofMillis(timeouts.connect().toMillis()));
            direct.setIdleTimeout(Duration.ofMillis(timeouts.idle().toMillis()));
            addBean(direct, true);
        }
        super.doStart();
        long headersTimeout = timeouts.responseHeaders().toMillis();
        if (headersTimeout > 0) {
            headersDeadlines = new HeadersDeadlines(headersTimeout, getHttpClient().getScheduler());
            headersDeadlines.start();
        }
    }

    @Override
    protected void doStop() throws Exception {
        if (headersDeadlines != null) {
            headersDeadlines.stop();
            headersDeadlines = null;
        }
        super.doStop();
        if (direct != null) {
            removeBean(direct);
            direct = null;
        }
    }

    @Override
    protected HttpClient newHttpClient() {
        ClientConnector connector = new ClientConnector();
        connector.setExecutor(getServer().getThreadPool());
        connector.setSelectors(selectors);
        HttpClient client = backendTls.newHttpClient(connector, new Http11BackendConnections());
        client.setConnectTimeout(timeouts.connect().toMillis());
        client.setIdleTimeout(timeouts.idle().toMillis());
        client.setMaxConnectionsPerDestination(MAX_CONNECTIONS_PER_BACKEND);
        client.setMaxRequestHeadersSize(MAX_BACKEND_REQUEST_HEADER_BYTES);
        // The client's own User-Agent passes through; without one, none is invented.
        client.setUserAgentField(null);
        client.setDefaultRequestContentType(null);
        // Backend responses are handled on the selector thread that read them: the listeners never block.
        client.getHttpClientTransport().setInvocationType(InvocationType.NON_BLOCKING);
        return client;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        ProxyExchange exchange = new ProxyExchange(request, response, callback, this::report);
        if (request.getHeaders().contains(HttpHeader.VIA) && cameBack(request)) {
            refuse(exchange, HttpStatus.LOOP_DETECTED_508, "this request came back to the balancer: a backend of its cluster is the balancer itself");
            return true;
        }
        if (!isToken(request.getMethod())) {
            // HTTP/1 parsing checks the method; HTTP/2 passes any :method on, and "GET /admin" would
            // rewrite the backend's request line past the routing.
            refuse(exchange, HttpStatus.BAD_REQUEST_400, "the request method is not valid");
            return true;
        }
        if (HttpMethod.CONNECT.asString().equalsIgnoreCase(request.getMethod())) {
            // A tunnel is not a request a backend of this balancer can answer (any case: the method goes out upper-cased).
            refuse(exchange, HttpStatus.NOT_IMPLEMENTED_501, "CONNECT is not supported");
            return true;
        }
        String method = request.getMethod();
        if ((OPTIONS.equals(method) || TRACE.equals(method)) && answeredAsLastHop(exchange)) {
            return true;
        }
        Router.Route route = router.get().route(ForwardedHeaders.hostOf(request), ForwardedHeaders.routingPath(request));
        Cluster cluster = route.cluster();
        if (cluster == null) {
            refuse(exchange, route.miss().status(), route.miss().reason());
            return true;
        }
        exchange.cluster = cluster;
        if (request.getLength() < 0 && request.getHeaders().contains(HttpHeader.CONTENT_LENGTH)) {
            // An HTTP/2 content-length of -1 (HTTP/1.1's parser refuses it): Jetty's client refused to
            // send it, and that failure counted against the backend, so that a few streams ejected it.
            refuse(exchange, HttpStatus.BAD_REQUEST_400, "the content-length is not a number of bytes");
            return true;
        }
        if (request.getLength() > 0 && endedWithoutBody(exchange)) {
            // Malformed (RFC 9113 8.1.1): Jetty's client then failed to send the announced length, and
            // that failure counted against the backend, so that anyone could eject backends with a few streams.
            refuse(exchange, HttpStatus.BAD_REQUEST_400, "the request ended before the body its content-length announced");
            return true;
        }
        exchange.hasBody = hasContent(exchange);
        // An HTTP/2 client that cancels its stream (a player seeking) frees the backend at once,
        // rather than when the backend's answer finds nobody to write to.
        request.addFailureListener(failure -> {
            Attempt attempt = exchange.attempt;
            // The client's connection idle while the request sat whole at the backend and no write to the
            // client was pending: the client waited for a backend gone silent. The two idle timeouts run
            // together, and whichever fires first, the silence is the backend's.
            boolean backendSilent = failure instanceof TimeoutException && attempt != null && attempt.sentWhole
                    && !exchange.waitingForClient;
            if (!backendSilent) {
                exchange.clientFailure = true;
            }
            if (attempt != null) {
                attempt.abort(failure);
            } else {
                // A stream cancelled while it waits for room gives up its place in the line now.
                cluster.wakeWaiters();
            }
        });
        RequestInfo info = new CoreRequestInfo(request, trustedProxies);
        Lease lease = cluster.tryAcquire(info, null);
        if (lease == null && cluster.mayWait()) {
            // Waiting in the cluster's queue blocks: never on the thread that serves other connections.
            waiting.execute(() -> forward(exchange, cluster.acquire(info, () -> exchange.clientFailure)));
            return true;
        }
        forward(exchange, lease);
        return true;
    }

    /**
     * RFC 9110 7.6.2: an OPTIONS or TRACE whose {@code Max-Forwards} is 0 is answered by this
     * hop, which must not forward it; a larger one goes on with one less. OPTIONS gets a 200 with
     * no content: what the balancer allows is whatever the backend does. TRACE gets {@code 501}:
     * as the final recipient the balancer does not implement it, since reflecting the request
     * would echo whatever secrets a proxy in front added (an API key header), on every host, and
     * make scanners report TRACE as enabled. A value that is not a number is passed on as it came.
     *
     * @return whether the balancer answered the request itself
     */
    private static boolean answeredAsLastHop(ProxyExchange exchange) {
        long hops = maxForwards(exchange.request.getHeaders().get(HttpHeader.MAX_FORWARDS));
        if (hops != 0) {
            exchange.maxForwards = hops > 0 ? hops - 1 : -1;
            return false;
        }
        if (TRACE.equals(exchange.request.getMethod())) {
            refuse(exchange, HttpStatus.NOT_IMPLEMENTED_501, "TRACE is not answered by the balancer");
            return true;
        }
        Response response = exchange.response;
        response.setStatus(HttpStatus.OK_200);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0L);
        response.write(true, BufferUtil.EMPTY_BUFFER, exchange);
        return true;
    }

    /** RFC 9110 7.6.2: Max-Forwards = 1*DIGIT; -1 when there is none, when it is not a number, and when it is too large to matter. */
    static long maxForwards(String value) {
        if (value == null || value.isEmpty()) {
            return -1;
        }
        long hops = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            hops = hops * 10 + (c - '0');
            if (hops > Integer.MAX_VALUE) {
                return -1;
            }
        }
        return hops;
    }

    /** RFC 9110 5.6.2: a method is a token, one or more tchar. */
    static boolean isToken(String method) {
        if (method == null || method.isEmpty()) {
            return false;
        }
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            boolean tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!tchar) {
                return false;
            }
        }
        return true;
    }

    private boolean cameBack(Request request) {
        for (String via : request.getHeaders().getValuesList(HttpHeader.VIA)) {
            if (via.contains(loopMark)) {
                return true;
            }
        }
        return false;
    }

    /** Never called: {@link #handle} routes and picks the backend itself, where the choice can fail with an answer. */
    @Override
    protected HttpURI rewriteHttpURI(Request request) {
        throw new UnsupportedOperationException("the backend is chosen in handle()");
    }

    private void forward(ProxyExchange exchange, Lease lease) {
        if (exchange.clientFailure) {
            // An HTTP/2 client cancelled its stream while the request waited for room: the slot goes
            // to the next in the queue, not to an answer nobody reads.
            if (lease != null) {
                lease.abandon();
            }
            exchange.failed(new EofException("the client left while its request waited for a backend"));
            return;
        }
        if (lease == null) {
            refuse(exchange, HttpStatus.SERVICE_UNAVAILABLE_503, PlainTextError.unavailable(exchange.cluster));
            return;
        }
        send(exchange, lease);
    }

    /** Starts an attempt of the exchange on the lease's backend. */
    private void send(ProxyExchange exchange, Lease lease) {
        Request client = exchange.request;
        // path() keeps a target that java.net.URI cannot parse (a query with | { } or ^) as it is;
        // given whole to newRequest, such a target was refused with 400.
        String target = RequestTarget.forBackend(client.getHttpURI().getPathQuery());
        if (target == null) {
            // a % not followed by two hex digits
            lease.abandon();
            refuse(exchange, HttpStatus.BAD_REQUEST_400, "the request URI is not valid");
            return;
        }
        URI url;
        try {
            url = lease.backend().connectUrl();
        } catch (UncheckedIOException e) {
            // A backend name with '_', looked up by connectUrl(), does not resolve.
            lease.release(true);
            refuse(exchange, HttpStatus.BAD_GATEWAY_502, "the backend's host name does not resolve");
            return;
        }
        DirectBackends directBackends = direct;
        if (directBackends != null && goesDirect(exchange, url)) {
            DirectRelay relay = new DirectRelay(exchange, lease, target);
            exchange.attempt = relay.attempt;
            directBackends.send(directBackends.pool(url), relay);
            return;
        }
        org.eclipse.jetty.client.Request proxyRequest;
        try {
            // The backend's URL is scheme://host:port only (BackendSpec): path() sets the whole target.
            proxyRequest = getHttpClient().newRequest(url)
                    .path(target)
                    .method(client.getMethod())
                    .idleTimeout(timeouts.idle().toMillis(), TimeUnit.MILLISECONDS);
        } catch (IllegalArgumentException e) {
            lease.abandon();
            refuse(exchange, HttpStatus.BAD_REQUEST_400, "the request URI is not valid");
            return;
        }
        proxyRequest.attribute(CLIENT_REQUEST, client).attribute(CLIENT_RESPONSE, exchange.response);
        copyRequestHeaders(client, proxyRequest);
        addProxyHeaders(client, proxyRequest);
        long hops = exchange.maxForwards;
        String requestId = exchange.requestId;
        proxyRequest.headers(h -> {
            h.put(RequestId.HEADER, requestId);
            if (hops >= 0) {
                h.put(HttpHeader.MAX_FORWARDS, hops);
            }
        });
        if (exchange.hasBody) {
            proxyRequest.body(requestContent(exchange, proxyRequest));
        }
        exchange.attempt = new Attempt(exchange, lease, proxyRequest, headersDeadlines).listen();
        sendProxyToServerRequest(client, proxyRequest, exchange.response, exchange);
    }

    /**
     * Whether the attempt can skip Jetty's client: a GET or HEAD without a body, to a clear-text
     * backend, not an ACME challenge (whose 404 asks another solver, through Jetty's listener).
     */
    private static boolean goesDirect(ProxyExchange exchange, URI url) {
        String method = exchange.request.getMethod();
        return !exchange.hasBody && (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method))
                && "http".equals(url.getScheme()) && !Router.SOLVER.equals(exchange.cluster.name());
    }

    /**
     * The client's body is read only once the attempt's connection is up: a request whose
     * connection failed leaves the body unread, and can still go to another backend.
     */
    private org.eclipse.jetty.client.Request.Content requestContent(ProxyExchange exchange, org.eclipse.jetty.client.Request proxyRequest) {
        // No type of its own: the backend gets the client's Content-Type, or none, never one the balancer made up.
        AsyncRequestContent deferred = new AsyncRequestContent((String) null);
        AtomicBoolean copying = new AtomicBoolean();
        Runnable copy = () -> {
            if (copying.compareAndSet(false, true)) {
                Content.copy(clientBody(exchange), deferred, Callback.from(deferred::close, deferred::fail));
            }
        };
        if (HttpHeaderValue.CONTINUE.is(exchange.request.getHeaders().get(HttpHeader.EXPECT))) {
            // ProxyHandler's 100 Continue handler runs this once the backend asked for the body.
            proxyRequest.attribute(CONTINUE_ACTION, copy);
            proxyRequest.onRequestCommit(r -> getHttpClient().getScheduler()
                    .schedule(() -> proceedWithoutContinue(r, copy), EXPECT_CONTINUE_WAIT_MS, TimeUnit.MILLISECONDS));
        } else {
            proxyRequest.onRequestBegin(r -> copy.run());
        }
        return deferred;
    }

    /**
     * Sends the body to a backend that has not answered {@code 100 Continue} in time, as curl does
     * after its own second. Servers that do not speak 100-continue (HTTP/1.0 ones, Python's
     * {@code http.server} by default) wait for the body, while Jetty's client waits for the 100:
     * without this, such an upload ended in a 504 at {@code IDLE_TIMEOUT}. Reading the body makes
     * Jetty send the client its 100. A no-op once the backend answered (the exchange has then
     * proceeded, or failed, or finished), and the copy runs once whichever of the two comes first.
     */
    private static void proceedWithoutContinue(org.eclipse.jetty.client.Request proxyRequest, Runnable copy) {
        HttpExchange attempt = ((HttpRequest) proxyRequest).getConversation().getExchanges().peekLast();
        if (attempt != null && attempt.getRequest() == proxyRequest) {
            attempt.proceed(copy, null);
        }
    }

    /** The client's body; one whose upload breaks off fails the backend request, which must not count against the backend. */
    private static Content.Source clientBody(ProxyExchange exchange) {
        return new ProxyRequestContent(exchange.request) {
            @Override
            public Content.Chunk read() {
                Content.Chunk peeked = exchange.peeked.getAndSet(null);
                Content.Chunk chunk = peeked != null ? peeked : super.read();
                if (Content.Chunk.isFailure(chunk)) {
                    exchange.clientFailure = true;
                }
                return chunk;
            }
        };
    }

    @Override
    protected void copyRequestHeaders(Request client, org.eclipse.jetty.client.Request proxyRequest) {
        super.copyRequestHeaders(client, proxyRequest);
        // HTTP/2 clients send :authority, not Host; the backend still gets the name the client asked for.
        // Not over HTTP/2 to the backend: a Host that differs from :authority is forbidden there (RFC 9113 8.3.1).
        proxyRequest.headers(h -> {
            if (backendTls.http2()) {
                h.remove(HttpHeader.HOST);
            } else {
                h.put(HttpHeader.HOST, ForwardedHeaders.hostOf(client));
                if (client.getConnectionMetaData().getHttpVersion().getVersion() >= 20) {
                    // Browsers send each cookie as a field of its own over HTTP/2; HTTP/1.1 allows one
                    // Cookie field, and a backend that reads the first lost the rest (RFC 9113 8.2.3).
                    List<String> cookies = h.getValuesList(HttpHeader.COOKIE);
                    if (cookies.size() > 1) {
                        h.put(HttpHeader.COOKIE, String.join("; ", cookies));
                    }
                }
            }
        });
    }

    @Override
    protected void addProxyHeaders(Request client, org.eclipse.jetty.client.Request proxyRequest) {
        boolean trusted = ForwardedHeaders.fromTrustedProxy(client, trustedProxies);
        proxyRequest.headers(h -> {
            addVia(client, h);
            ForwardedHeaders.set(client, h, trusted);
        });
    }

    /** As Jetty's ProxyHandler.addViaHeader: this hop appended to the Via the request came with, in one field. */
    private void addVia(Request client, HttpFields.Mutable headers) {
        String protocol = client.getConnectionMetaData().getProtocol();
        String hop = viaHops.get(protocol);
        if (hop == null) {
            String[] parts = protocol.split("/", 2);
            hop = (parts.length == 2 && "HTTP".equalsIgnoreCase(parts[0]) ? parts[1] : protocol) + " " + getViaHost();
            viaHops.put(protocol, hop);
        }
        String ownHop = hop;
        headers.computeField(HttpHeader.VIA, (header, fields) -> {
            if (fields == null || fields.isEmpty()) {
                return new HttpField(header, ownHop);
            }
            StringBuilder value = new StringBuilder();
            for (HttpField field : fields) {
                for (String v : field.getValues()) {
                    if (!v.isBlank()) {
                        value.append(v).append(", ");
                    }
                }
            }
            return new HttpField(HttpHeader.VIA, value.append(ownHop).toString());
        });
    }

    /**
     * The head of a direct attempt's request: what {@link #copyRequestHeaders} and
     * {@link #addProxyHeaders} give Jetty's client, written as HTTP/1.1 ({@link RequestHead}).
     */
    private ByteBuffer directHead(ProxyExchange exchange, String target) {
        Request client = exchange.request;
        HttpFields clientHeaders = client.getHeaders();
        Set<String> named = null;
        if (clientHeaders.contains(HttpHeader.CONNECTION)) {
            named = new HashSet<>();
            for (String value : clientHeaders.getValuesList(HttpHeader.CONNECTION)) {
                for (String name : value.split(",")) {
                    named.add(name.trim().toLowerCase(Locale.ENGLISH));
                }
            }
        }
        HttpFields.Mutable h = HttpFields.build(clientHeaders.size() + 8);
        for (HttpField field : clientHeaders) {
            // Expect too: a direct request has no body, and a client must not send 100-continue without
            // one (RFC 9110 10.1.1); Jetty's client drops it too. Any other expectation got a 417 already.
            if (!HOP_HEADERS.contains(field.getHeader()) && field.getHeader() != HttpHeader.EXPECT
                    && (named == null || !named.contains(field.getLowerCaseName()))) {
                h.add(field);
            }
        }
        h.put(HttpHeader.HOST, ForwardedHeaders.hostOf(client));
        if (client.getConnectionMetaData().getHttpVersion().getVersion() >= 20) {
            List<String> cookies = h.getValuesList(HttpHeader.COOKIE);
            if (cookies.size() > 1) {
                h.put(HttpHeader.COOKIE, String.join("; ", cookies));
            }
        }
        addVia(client, h);
        ForwardedHeaders.set(client, h, ForwardedHeaders.fromTrustedProxy(client, trustedProxies));
        h.put(RequestId.HEADER, exchange.requestId);
        if (exchange.maxForwards >= 0) {
            h.put(HttpHeader.MAX_FORWARDS, exchange.maxForwards);
        }
        return RequestHead.of(client.getMethod(), target, h);
    }

    @Override
    protected void onServerToProxyResponse102Processing(Request client, org.eclipse.jetty.client.Request proxyRequest,
                                                        HttpFields headers, Response response) {
        if (client.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_1_0) {
            super.onServerToProxyResponse102Processing(client, proxyRequest, headers, response);
        }
    }

    @Override
    protected void onServerToProxyResponse103EarlyHints(Request client, org.eclipse.jetty.client.Request proxyRequest,
                                                        HttpFields headers, Response response) {
        if (client.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_1_0) {
            super.onServerToProxyResponse103EarlyHints(client, proxyRequest, headers, response);
        }
    }

    @Override
    protected org.eclipse.jetty.client.Response.CompleteListener newServerToProxyResponseListener(
            Request client, org.eclipse.jetty.client.Request proxyRequest, Response response, Callback callback) {
        BackendResponseListener listener = new BackendResponseListener(client, proxyRequest, response, callback);
        proxyRequest.attribute(Http11BackendConnections.BodyWait.ATTRIBUTE, listener);
        return listener;
    }

    /**
     * Jetty's listener, writing through a {@link ClientAnswer}: the headers the backend names in
     * Connection dropped too (Jetty drops only the fixed hop-by-hop list), the chunk that completes
     * an announced length written as the last, and the headers sent first when the body is slow to come.
     */
    private final class BackendResponseListener extends ProxyResponseListener implements Http11BackendConnections.BodyWait {
        private final ProxyExchange exchange;
        private final org.eclipse.jetty.client.Request proxyRequest;
        private final ClientAnswer answer;

        BackendResponseListener(Request client, org.eclipse.jetty.client.Request proxyRequest, Response response, Callback callback) {
            super(client, proxyRequest, response, callback);
            this.exchange = (ProxyExchange) callback;
            this.proxyRequest = proxyRequest;
            this.answer = new ClientAnswer(exchange);
        }

        /** Runs between body chunks, when no write to the client is in flight (Jetty asks for more of the body only once the last write completed). */
        @Override
        public boolean beforeWait(Runnable resume) {
            return answer.headersFirst(resume, proxyRequest::abort);
        }

        @Override
        public boolean heldByClient(long idleTimeoutMillis) {
            return answer.heldByClient(idleTimeoutMillis);
        }

        @Override
        public void onHeaders(org.eclipse.jetty.client.Response backendResponse) {
            if (isSolverMiss(exchange, backendResponse.getStatus())) {
                backendResponse.abort(new SolverMiss());
                return;
            }
            if (backendResponse.getStatus() == HttpStatus.SWITCHING_PROTOCOLS_101) {
                // Upgrade is hop-by-hop and never reaches a backend from here (WebSocket has its own
                // path): a 101 is the backend's error. Passed on, the client would take its connection as switched.
                backendResponse.abort(new HttpResponseException("101 to a request that asked for no upgrade", backendResponse));
                return;
            }
            super.onHeaders(backendResponse);
            answer.headersCopied(backendResponse.getStatus(), backendResponse.getHeaders());
        }

        @Override
        public void onContent(org.eclipse.jetty.client.Response backendResponse, Content.Chunk chunk, Runnable demander) {
            chunk.retain();
            answer.write(chunk.getByteBuffer(), Callback.from(InvocationType.NON_BLOCKING, () -> {
                chunk.release();
                if (answer.lastWritten()) {
                    // What Jetty's own last write completes: onComplete waits for it.
                    BackendResponseListener.this.succeeded();
                }
                demander.run();
            }, failure -> {
                chunk.release();
                // As Jetty's listener does: nothing can reach the client, so stop the backend.
                backendResponse.abort(failure);
            }));
        }

        @Override
        public void onSuccess(org.eclipse.jetty.client.Response backendResponse) {
            if (!answer.lastWritten()) {
                answer.end(backendResponse.getStatus(), this);
            }
        }
    }

    /**
     * One direct attempt: {@link BackendResponseListener}'s work, through the same {@link ClientAnswer},
     * and {@link Attempt}'s events, for a {@link DirectConnection}.
     */
    private final class DirectRelay implements DirectConnection.Call {
        private final ProxyExchange exchange;
        private final Response response;
        private final ClientAnswer answer;
        private final ByteBuffer head;
        final Attempt attempt;
        private final AtomicBoolean ended = new AtomicBoolean();
        private volatile DirectConnection connection;
        private volatile Throwable aborted;
        private int status;

        DirectRelay(ProxyExchange exchange, Lease lease, String target) {
            this.exchange = exchange;
            this.response = exchange.response;
            this.answer = new ClientAnswer(exchange);
            this.head = directHead(exchange, target);
            this.attempt = new Attempt(exchange, lease, this::abort, headersDeadlines);
        }

        /** The client left, or the response headers' deadline passed. */
        private void abort(Throwable failure) {
            aborted = failure;
            DirectConnection c = connection;
            if (c != null) {
                c.abort(this, failure);
            }
        }

        @Override
        public void attached(DirectConnection c) {
            connection = c;
            attempt.began();
            Throwable failure = aborted;
            if (failure != null) {
                c.abort(this, failure);
            }
        }

        @Override
        public ByteBuffer requestHead() {
            return head;
        }

        @Override
        public boolean headRequest() {
            return HttpMethod.HEAD.is(exchange.request.getMethod());
        }

        @Override
        public void sent() {
            attempt.sentWhole();
        }

        @Override
        public void interim(int interimStatus, HttpFields headers) {
            // 100 answers an Expect the request had no body for; 102 and 103 go on, never to an HTTP/1.0 client (RFC 9110 15.2).
            if ((interimStatus == HttpStatus.PROCESSING_102 || interimStatus == HttpStatus.EARLY_HINTS_103)
                    && exchange.request.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_1_0) {
                response.writeInterim(interimStatus, headers);
            }
        }

        @Override
        public void headers(int backendStatus, HttpFields backendHeaders) {
            status = backendStatus;
            attempt.responseBegan();
            if (backendStatus == HttpStatus.SWITCHING_PROTOCOLS_101) {
                // Upgrade is hop-by-hop and never reaches a backend from here (WebSocket has its own
                // path): a 101 is the backend's error. Passed on, the client would take its connection as switched.
                connection.abort(this, new DirectConnection.BadResponse("101 to a request that asked for no upgrade", null));
                return;
            }
            response.setStatus(backendStatus);
            HttpFields.Mutable out = response.getHeaders();
            // The server's own fields (its Date, and any other set before the handler ran) give way to the
            // backend's of the same name, as through Jetty's listener: the first field of such a name
            // replaces (put: the server's Date is a persistent field, which remove leaves), the next
            // ones add. Added, every backend's Date made a second Date header.
            List<String> replaced = null;
            for (HttpField own : out) {
                if (!HOP_HEADERS.contains(own.getHeader()) && backendHeaders.contains(own.getName())) {
                    if (replaced == null) {
                        replaced = new ArrayList<>(2);
                    }
                    replaced.add(own.getLowerCaseName());
                }
            }
            for (HttpField field : backendHeaders) {
                if (!HOP_HEADERS.contains(field.getHeader())) {
                    if (replaced != null && replaced.remove(field.getLowerCaseName())) {
                        out.put(field);
                    } else {
                        out.add(field);
                    }
                }
            }
            answer.headersCopied(backendStatus, backendHeaders);
        }

        @Override
        public void content(ByteBuffer content, Callback taken) {
            answer.write(content, taken);
        }

        @Override
        public boolean beforeWait(Runnable resume) {
            return answer.headersFirst(resume, failure -> connection.abort(this, failure));
        }

        @Override
        public boolean heldByClient(long idleTimeoutMillis) {
            return answer.heldByClient(idleTimeoutMillis);
        }

        @Override
        public void completed(int backendStatus) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            attempt.ended(null, backendStatus, false);
            if (answer.lastWritten()) {
                exchange.succeeded();
            } else {
                answer.end(backendStatus, exchange);
            }
        }

        @Override
        public void failed(Throwable failure, boolean backendAnswered) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            boolean bad = failure instanceof DirectConnection.BadResponse;
            // As isBackendFailure: nothing (or nothing valid) came back, it ended early, or it was too slow.
            boolean backendsFault = !isLocal(failure) && (!backendAnswered || bad || failure instanceof TimeoutException
                    || failure instanceof java.io.EOFException);
            attempt.ended(failure, backendAnswered ? status : 0, backendsFault);
            attemptFailed(exchange, failure, !backendAnswered, bad);
        }
    }

    /**
     * A failed attempt goes to another backend when {@link RetryPolicy} allows; otherwise the
     * client gets 502 (or 504 after a timeout), or its connection is cut when the response had
     * already begun, so that a truncated body is never taken for a complete one.
     */
    @Override
    protected void onServerToProxyResponseFailure(Request client, org.eclipse.jetty.client.Request proxyRequest,
                                                  org.eclipse.jetty.client.Response backendResponse, Response response,
                                                  Callback callback, Throwable failure) {
        attemptFailed((ProxyExchange) callback, failure, backendResponse.getStatus() == 0, failure instanceof HttpResponseException);
    }

    /**
     * An attempt failed, through Jetty's client or direct.
     *
     * @param nothingBack whether no status line and headers had come from the backend
     * @param badResponse whether the backend's answer could not be parsed or passed on
     */
    private void attemptFailed(ProxyExchange exchange, Throwable failure, boolean nothingBack, boolean badResponse) {
        Request client = exchange.request;
        Response response = exchange.response;
        Callback callback = exchange;
        // The client's body was badly framed or too large: its fault, and its answer (400, or 413
        // over MAX_BODY_SIZE). Not every client-side failure is that: a backend that fails also
        // fails the body it was reading, and a shutdown cuts the request.
        HttpException badBody = exchange.clientFailure && !clientLeft(client) ? clientCause(failure) : null;
        if ((nothingBack || badResponse) && !isLocal(failure) && !exchange.clientFailure) {
            exchange.attempt.lease.backend().recordError(describe(failure));
        }
        if (badBody != null && !response.isCommitted()) {
            boolean tooLarge = badBody.getCode() == HttpStatus.PAYLOAD_TOO_LARGE_413;
            refuse(exchange, tooLarge ? HttpStatus.PAYLOAD_TOO_LARGE_413 : HttpStatus.BAD_REQUEST_400,
                    tooLarge ? "the request body is too large" : "the request body is not valid");
            return;
        }
        if (retry(exchange, failure)) {
            return;
        }
        if (response.isCommitted()) {
            exchange.backendCut = !exchange.excusesBackend(failure);
            if (exchange.backendCut && !nothingBack && !badResponse && !isLocal(failure)) {
                // Recorded above when nothing had come back yet; the admin API shows a crash mid-stream too.
                exchange.attempt.lease.backend().recordError(describe(failure));
            }
            if (client.getConnectionMetaData().getHttpVersion().getVersion() < 20) {
                // The connection closes on this failure (HTTP/2 resets the stream only).
                ResetOnClose.arm(client.getConnectionMetaData().getConnection().getEndPoint());
            }
            callback.failed(failure);
            return;
        }
        if (exchange.clientFailure) {
            // The client left before the answer (a player that seeks cancels its stream): no answer
            // is written to it, and none is counted, where a 502 would count as the balancer's 5xx.
            callback.failed(failure);
            return;
        }
        if (failure instanceof SolverMiss) {
            refuse(exchange, HttpStatus.NOT_FOUND_404, "no ACME solver knows this token");
        } else if (failure instanceof TimeoutException) {
            refuse(exchange, HttpStatus.GATEWAY_TIMEOUT_504, "the backend did not answer in time");
        } else {
            refuse(exchange, HttpStatus.BAD_GATEWAY_502, "the backend could not be reached or failed");
        }
    }

    /**
     * cert-manager runs one solver pod per challenge, and each answers 404 to the others' tokens:
     * with a Certificate of several names, a challenge is asked of every solver until one knows it.
     */
    private static boolean isSolverMiss(ProxyExchange exchange, int status) {
        return status == HttpStatus.NOT_FOUND_404 && Router.SOLVER.equals(exchange.cluster.name())
                && exchange.retries < exchange.cluster.backends().size() - 1;
    }

    /** The answer of a solver that does not know the token: another solver is asked. */
    private static final class SolverMiss extends Exception {
        SolverMiss() {
            super("this ACME solver does not know the token", null, false, false);
        }
    }

    /** @return whether the exchange went to another backend */
    private boolean retry(ProxyExchange exchange, Throwable failure) {
        Cluster cluster = exchange.cluster;
        Request client = exchange.request;
        Attempt failed = exchange.attempt;
        if (failure instanceof SolverMiss) {
            return retryOn(exchange, cluster.tryAcquire(new CoreRequestInfo(client, trustedProxies), exchange.tried(failed.lease.backend())));
        }
        int budget = cluster.config().pool().retries();
        if (Router.SOLVER.equals(cluster.name())) {
            // A challenge is for one solver of several (isSolverMiss): solver pods that just went away
            // must not use up the retries before the one that knows the token is asked.
            budget = Math.max(budget, cluster.backends().size() - 1);
        }
        if (exchange.response.isCommitted() || exchange.clientFailure
                || !RetryPolicy.permits(client.getMethod(), exchange.hasBody, failed.sent(), failed.answered(),
                        failure instanceof TimeoutException, exchange.retries, budget)) {
            return false;
        }
        return retryOn(exchange, cluster.tryAcquire(new CoreRequestInfo(client, trustedProxies), exchange.tried(failed.lease.backend())));
    }

    private boolean retryOn(ProxyExchange exchange, Lease next) {
        if (next == null) {
            return false;
        }
        exchange.attempt.lease.backend().recordRetry();
        exchange.retries++;
        send(exchange, next);
        return true;
    }

    /** An answer the balancer makes itself; once the response has begun, the client's connection is cut instead. */
    private static void refuse(ProxyExchange exchange, int status, String reason) {
        if (exchange.response.isCommitted()) {
            exchange.failed(new java.io.IOException(status + " " + reason + " after the response began"));
            return;
        }
        PlainTextError.write(exchange.response, status, reason, exchange.requestId, exchange);
    }

    /** Tells the listener about a finished exchange; never lets a listener's failure reach the client. */
    private void report(ProxyExchange exchange, Throwable failure) {
        ExchangeListener l = listener;
        if (l == ExchangeListener.NONE) {
            return;
        }
        try {
            Attempt last = exchange.attempt;
            l.onComplete(Exchange.of(exchange.request, ClientAddress.of(exchange.request, trustedProxies), exchange.response.getStatus(),
                    Response.getContentBytesWritten(exchange.response), exchange.cluster, last == null ? null : last.lease,
                    exchange.startNanos, last == null ? -1 : last.upstreamNanos, exchange.retries,
                    last != null && last.backendFailure, end(exchange, failure), exchange.requestId));
        } catch (RuntimeException e) {
            LOG.warn("exchange listener failed", e);
        }
    }

    private Exchange.End end(ProxyExchange exchange, Throwable failure) {
        // Handed whole to the connection and then a hang-up: a client that closes as the last bytes
        // arrive got them all. A timeout instead means the end was still waiting for a client that
        // had stopped reading (or for its window).
        if (failure == null || (exchange.responseWritten && !(failure instanceof TimeoutException))) {
            return Exchange.End.COMPLETE;
        }
        Server server = getServer();
        if (server != null && server.isStopping()) {
            return Exchange.End.SHUTDOWN;
        }
        // Anything else that ended a response early was on the client's side: its connection or
        // stream failed, it left while queued, or a write of the balancer's own answer failed.
        return exchange.backendCut ? Exchange.End.BACKEND : Exchange.End.CLIENT;
    }

    /** Whether the exchange failed for the backend's sake: nothing (or nothing valid) came back, or it was too slow. */
    static boolean isBackendFailure(Result result) {
        if (!result.isFailed()) {
            return false;
        }
        Throwable f = result.getFailure();
        if (isLocal(f)) {
            return false;
        }
        // HttpResponseException: a response Jetty could not parse (a status of 2000, a TLS port spoken to in clear).
        // EOFException: the backend's connection ended before the response did, also in the middle of
        // the body (a crash mid-stream; the caller has ruled out a client that left). Counted as a
        // success, such a crash cleared the backend's run of failures.
        return f instanceof TimeoutException || f instanceof HttpResponseException || f instanceof java.io.EOFException
                || result.getResponse() == null || result.getResponse().getStatus() == 0;
    }

    /**
     * A request the backend client refused to send (too large headers, say): the balancer's side,
     * not the backend's. A response Jetty could not parse (an HttpException) is the backend's.
     */
    static boolean isLocal(Throwable failure) {
        return (failure instanceof IllegalArgumentException || failure instanceof IllegalStateException)
                && !(failure instanceof HttpException);
    }

    private static boolean hasContent(ProxyExchange exchange) {
        Request client = exchange.request;
        if (client.getLength() > 0) {
            return true;
        }
        HttpFields headers = client.getHeaders();
        boolean announced = headers.contains(HttpHeader.CONTENT_TYPE) || headers.contains(HttpHeader.TRANSFER_ENCODING);
        if (client.getLength() == 0 || client.getConnectionMetaData().getHttpVersion().getVersion() < 20) {
            // HTTP/1: without Content-Length, only Transfer-Encoding announces a body (RFC 9112 6.3).
            return announced;
        }
        // HTTP/2 and 3 need no length: a body is there unless the headers ended the stream, which
        // Jetty reports as an end already read. Reading ahead is the only way to know; what is read is kept for the copy.
        // A stream whose headers did not end it but whose (empty) end is still on its way counts as a body: an empty one.
        Content.Chunk first = client.read();
        if (first == null) {
            return true;
        }
        if (first.isLast() && !first.hasRemaining() && !Content.Chunk.isFailure(first)) {
            first.release();
            return false;
        }
        exchange.peeked.set(first);
        return true;
    }

    /**
     * Whether an HTTP/2 or 3 stream with a content-length ended without any body (END_STREAM on its
     * headers). HTTP/1 parsing waits for the announced bytes; over HTTP/2 Jetty reports such a
     * stream as an empty body. Reads ahead only for such requests, and keeps what it read for the copy.
     */
    private static boolean endedWithoutBody(ProxyExchange exchange) {
        Request client = exchange.request;
        if (client.getConnectionMetaData().getHttpVersion().getVersion() < 20) {
            return false;
        }
        Content.Chunk first = client.read();
        if (first != null && first.isLast() && !first.hasRemaining() && !Content.Chunk.isFailure(first)) {
            first.release();
            return true;
        }
        if (first != null) {
            exchange.peeked.set(first);
        }
        return false;
    }

    /** The client's connection reached its end (it closed in the middle of its body): a hang-up, not a malformed body. */
    private static boolean clientLeft(Request client) {
        EndPoint endPoint = client.getConnectionMetaData().getConnection().getEndPoint();
        return endPoint.isInputShutdown() || !endPoint.isOpen();
    }

    private static HttpException clientCause(Throwable failure) {
        // Below a response that could not be parsed is the parser's own 400: the backend's fault, not the client's.
        for (Throwable t = failure; t != null && !(t instanceof HttpResponseException) && !(t instanceof DirectConnection.BadResponse);
                t = t.getCause()) {
            if (t instanceof HttpException e && e.getCode() >= 400 && e.getCode() < 500) {
                return e;
            }
        }
        return null;
    }

    /**
     * The backend's error as an operator reads it in the admin API: Jetty's messages name its
     * connection objects ("EOFException: oejcti.HttpConnectionOverHTTP@53907d82::..."), a
     * kilobyte of internals that says only that the connection closed.
     */
    static String describe(Throwable failure) {
        if (failure instanceof java.io.EOFException || failure instanceof java.nio.channels.ClosedChannelException) {
            return "the backend closed the connection before its response was complete";
        }
        String message = failure.getMessage();
        if (message != null) {
            Matcher internals = JETTY_CONNECTION.matcher(message);
            if (internals.find() && internals.start() > 0) {
                message = message.substring(0, internals.start());
            }
            if (message.length() > 200) {
                message = message.substring(0, 200) + "...";
            }
        }
        return failure.getClass().getSimpleName() + (message != null ? ": " + message : "");
    }
}
