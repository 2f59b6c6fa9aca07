package io.moosicbox.lb.server;

import io.moosicbox.lb.config.ConfigException;
import io.moosicbox.lb.config.ConfigWarnings;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.ListenerLimits;
import io.moosicbox.lb.config.Origins;
import io.moosicbox.lb.discovery.HostResolver;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.health.HealthChecker;
import io.moosicbox.lb.proxy.BalancingProxyHandler;
import io.moosicbox.lb.proxy.WebSocketUpgradeServlet;
import io.moosicbox.lb.route.Router;
import io.moosicbox.lb.tls.BackendTls;
import io.moosicbox.lb.tls.CertificateFiles;
import io.moosicbox.lb.tls.CertificateInfo;
import io.moosicbox.lb.tls.PemException;
import io.moosicbox.lb.tls.TlsListener;
import io.moosicbox.lb.websocket.WebSocketProxy;
import io.moosicbox.lb.websocket.WebSocketUpgradeHeader;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ConditionalHandler;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.VirtualThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One balancer process: a Jetty {@link Server} with a proxy listener and an admin listener,
 * request handling on virtual threads, and graceful stop. The admin module adds its servlets to
 * {@link #adminContext()} before {@link #start()}.
 */
public final class LoadBalancer {
    public static final String PROXY_CONNECTOR = "proxy";
    public static final String ADMIN_CONNECTOR = "admin";
    private static final Logger LOG = LoggerFactory.getLogger(LoadBalancer.class);
    /**
     * Selector threads per proxy listener and for the backend client: one per CPU. Every handler on
     * the proxy's path is non-blocking, so these threads do all of a proxied request's work, as an
     * event loop per core (nginx's workers, HAProxy's nbthread); Jetty's defaults (half the CPUs for
     * a listener, one thread for a client) suit servers that hand each request to a pool thread.
     * Measured in docs/benchmarks.md: with one of each, 11.3-11.7 k req/s at 85-87 us of CPU per
     * request; with two of each on two CPUs, 15.7-16.4 k at 66-70 us. The JVM counts the CPUs of
     * its container, and {@code -XX:ActiveProcessorCount} in JAVA_OPTS overrides the count.
     */
    static final int SELECTORS = Runtime.getRuntime().availableProcessors();

    private volatile LbConfig config;
    // What the process was built with: listeners, timeouts and the like stay as they were at start.
    private final LbConfig started;
    private final Server server;
    private final ServerConnector proxyConnector;
    private final ServerConnector adminConnector;
    private final ServletContextHandler adminContext;
    private final GracefulHandler graceful;
    private final BalancingProxyHandler proxyHandler;
    private final WebSocketUpgradeServlet webSocketServlet;
    private final Refusals refusals;
    private final TlsListener tls;
    private final WebSocketProxy webSockets;
    private final AtomicBoolean shuttingDown = new AtomicBoolean();
    private final Topology topology;
    private final LongAdder reloadsSucceeded = new LongAdder();
    private final LongAdder reloadsFailed = new LongAdder();
    /** Whether the last reload was applied (the configuration read at start counts as one), and when the last applied one was. */
    private volatile boolean lastReloadSucceeded = true;
    private volatile long lastReloadSuccessMillis = System.currentTimeMillis();
    private final HealthChecker healthChecker = new HealthChecker(this::clusters);
    private final List<Runnable> drainStartListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile ConfigSource configSource;

    public LoadBalancer(LbConfig config) {
        this(config, HostResolver.system());
    }

    /** @param resolver looks up the host names of backends written with {@code resolve} (DNS discovery) */
    public LoadBalancer(LbConfig config, HostResolver resolver) {
        this(config, resolver, ListenerLimits.defaults());
    }

    /** @param limits what the proxy listener refuses from clients (sizes, connections, rate) */
    public LoadBalancer(LbConfig config, HostResolver resolver, ListenerLimits limits) {
        this.config = config;
        this.started = config;
        this.topology = new Topology(config.clusters(), resolver);
        // Backends stop changing (DNS discovery) once the drain begins.
        onDrainStart(topology::close);

        QueuedThreadPool threads = new ProxyThreadPool();
        threads.setName("lb");
        VirtualThreadPool virtualThreads = new VirtualThreadPool();
        virtualThreads.setName("lb-v");
        // Bounds concurrent blocking work, not connections: async proxying holds no thread while it waits.
        virtualThreads.setMaxConcurrentTasks(10_000);
        threads.setVirtualThreadsExecutor(virtualThreads);
        server = new Server(threads);
        server.setErrorHandler(new PlainTextErrorHandler());
        server.setStopTimeout(config.shutdown().timeout().toMillis());

        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setIdleTimeout(config.timeouts().idle().toMillis());
        ListenerHardening.configure(http);
        http.addCustomizer(new Http10ExpectIgnored());
        HTTP2CServerConnectionFactory h2c = new H2cConnectionFactory(http);
        // WebSocket over HTTP/2 (RFC 8441) is not bridged: advertised, browsers would open /ws that way and get 501.
        h2c.setConnectProtocolEnabled(false);
        proxyConnector = new ServerConnector(server, -1, SELECTORS, new Http1ConnectionFactory(http), h2c) {
            @Override
            protected SocketChannelEndPoint newEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key) {
                ReadKeepingEndPoint endPoint = new ReadKeepingEndPoint(channel, selector, key, getScheduler());
                endPoint.setIdleTimeout(getIdleTimeout());
                return endPoint;
            }
        };
        proxyConnector.setName(PROXY_CONNECTOR);
        listenOn(proxyConnector, config.listeners().http());
        proxyConnector.setIdleTimeout(config.timeouts().idle().toMillis());

        HttpConfiguration adminHttp = new HttpConfiguration();
        adminHttp.setSendServerVersion(false);
        adminHttp.addCustomizer(new Http10ExpectIgnored());
        adminConnector = new ServerConnector(server, 1, 1, new Http1ConnectionFactory(adminHttp));
        adminConnector.setName(ADMIN_CONNECTOR);
        listenOn(adminConnector, config.listeners().admin());
        tls = config.listeners().https() == null ? null : newTlsListener(http, config);
        ListenerHardening.limitConnections(server, limits, tls == null ? new Connector[] {proxyConnector}
                : new Connector[] {proxyConnector, tls.connector()});
        server.setConnectors(tls == null ? new Connector[] {proxyConnector, adminConnector}
                : new Connector[] {proxyConnector, tls.connector(), adminConnector});

        proxyHandler = new BalancingProxyHandler(topology::router, config.timeouts(), virtualThreads);
        proxyHandler.setSelectors(SELECTORS);
        BackendTls backendTls = new BackendTls(config.tls().backends());
        proxyHandler.setBackendTls(backendTls);
        proxyHandler.setTrustedProxies(limits.trustedProxySet());
        healthChecker.setSslContextFactory(backendTls.newSslContextFactory());

        // A server bean: on stop it keeps WebSocket sessions for their grace time, then closes them with 1001.
        webSockets = new WebSocketProxy(config.websocket(), config.timeouts(), config.shutdown().timeout());
        webSockets.setBackendTls(backendTls.newSslContextFactory());
        webSocketServlet = new WebSocketUpgradeServlet(topology::router, webSockets);
        webSocketServlet.setTrustedProxies(limits.trustedProxySet());
        ServletContextHandler webSocketContext = new ServletContextHandler("/");
        webSocketContext.addServlet(new ServletHolder("websocket", webSocketServlet), "/*");
        webSockets.install(webSocketContext);
        ConditionalHandler upgrades = new ConditionalHandler.DontHandle(new Offload(new WebSocketUpgradeHeader(webSocketContext), virtualThreads));
        upgrades.include(request -> !WebSocketProxy.isUpgradeRequest(request));

        Handler redirect = tls == null ? null : tls.redirectHandler();
        // The redirect comes first: a ws:// upgrade on the plain listener is sent to wss:// like any request.
        Handler.Wrapper proxyListeners = new Handler.Wrapper(redirect == null
                ? new Handler.Sequence(upgrades, proxyHandler) : new Handler.Sequence(redirect, upgrades, proxyHandler));
        refusals = new Refusals(limits.trustedProxySet());
        proxyListeners.insertHandler(ListenerHardening.handler(limits, refusals));

        adminContext = new ServletContextHandler("/");
        adminContext.setVirtualHosts(List.of("@" + ADMIN_CONNECTOR));
        ConditionalHandler admin = new ConditionalHandler.DontHandle(new Offload(adminContext, virtualThreads));
        admin.include(request -> !ADMIN_CONNECTOR.equals(request.getConnectionMetaData().getConnector().getName()));

        // Every handler on the proxy's path is non-blocking, so Jetty serves a proxied request on the
        // thread that read it; the servlet contexts (admin, WebSocket handshakes) get virtual threads.
        graceful = new ServingGracefulHandler(new Handler.Sequence(admin, proxyListeners));
        // Jetty shortens every connection's idle timeout to this when the drain begins, counted from
        // the connection's last byte, not from the drain: a request waiting on a quiet backend
        // would be cut (HTTP/2: the whole session's streams failed) long before the shutdown
        // timeout. Never shorten it; the shutdown timeout bounds the drain by itself.
        graceful.setShutdownIdleTimeout(Math.max(config.timeouts().idle().toMillis(), config.shutdown().timeout().toMillis()));
        server.setHandler(graceful);
        server.addBean(webSockets);
    }

    private TlsListener newTlsListener(HttpConfiguration http, LbConfig config) {
        try {
            TlsListener listener = new TlsListener(server, SELECTORS, http, config.listeners().https(), config.tls());
            listener.connector().setIdleTimeout(config.timeouts().idle().toMillis());
            listener.connector().setShutdownIdleTimeout(config.shutdown().timeout().toMillis());
            server.addBean(listener);
            return listener;
        } catch (PemException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static void listenOn(ServerConnector connector, HostPort address) {
        String host = address.host();
        connector.setHost(host.equals("0.0.0.0") || host.equals("*") ? null : host);
        connector.setPort(address.port());
    }

    /** The configuration last read: at start, or by the last reload applied (see {@link ReloadResult#needsRestart()}). */
    public LbConfig config() {
        return config;
    }

    public Router router() {
        return topology.router();
    }

    /** Health-checks the backend at once, that check's verdict final (an operator enabled it); done when it is over. */
    public CompletableFuture<Void> checkNow(Backend backend) {
        return healthChecker.checkNow(backend);
    }

    public List<Cluster> clusters() {
        return topology.clusters();
    }

    /** Backends that a reload or DNS took out and that still finish their requests, with the cluster they left. */
    public List<Topology.Retired> retiredBackends() {
        return topology.retired();
    }

    public long reloadsSucceeded() {
        return reloadsSucceeded.sum();
    }

    public long reloadsFailed() {
        return reloadsFailed.sum();
    }

    /**
     * False from a refused reload until the next applied one: the file on disk is not the running
     * configuration, and a restart would read it (and exit 2). True at start.
     */
    public boolean lastReloadSucceeded() {
        return lastReloadSucceeded;
    }

    /** When the configuration last loaded: the start, or the last applied reload (milliseconds since the epoch). */
    public long lastReloadSuccessMillis() {
        return lastReloadSuccessMillis;
    }

    private void reloadApplied() {
        reloadsSucceeded.increment();
        lastReloadSuccessMillis = System.currentTimeMillis();
        lastReloadSucceeded = true;
    }

    /** Metrics and access logs subscribe here; one listener, set before {@link #start()}. */
    public void setExchangeListener(io.moosicbox.lb.proxy.ExchangeListener listener) {
        proxyHandler.setExchangeListener(listener);
        webSocketServlet.setExchangeListener(listener);
        refusals.setExchangeListener(listener);
    }

    /** Proxied WebSocket sessions (open count); {@link #stop()} closes them gracefully. */
    public WebSocketProxy webSockets() {
        return webSockets;
    }

    /** The admin listener's servlet context; add servlets before {@link #start()}. */
    public ServletContextHandler adminContext() {
        return adminContext;
    }

    public Server server() {
        return server;
    }

    /** @throws Exception when a listener cannot bind ({@link ListenerBindException}, naming it), among others */
    public void start() throws Exception {
        bindListeners();
        server.start();
        topology.start();
        healthChecker.start();
        LOG.info("proxy listening on {}, admin on {}{}", describe(proxyConnector), describe(adminConnector),
                tls == null ? "" : ", TLS on " + describe(tls.connector()) + " (certificates "
                        + config.tls().certificates().stream().map(LbConfig.CertificatePair::cert).toList() + ")");
        ConfigWarnings.of(config).forEach(LOG::warn);
    }

    /**
     * Binds each listener before the server starts (which would then find them open), so that the
     * one whose address is taken is known: Jetty's own failure does not say which of them it was.
     */
    private void bindListeners() throws ListenerBindException {
        LbConfig.Listeners l = config.listeners();
        Origins o = config.origins();
        List<ServerConnector> bound = new ArrayList<>();
        try {
            bind(proxyConnector, o.name("listeners.http", l.http(), "BIND_ADDRESS", "PORT"), bound);
            if (tls != null) {
                bind(tls.connector(), o.name("listeners.https", l.https(), "SSL_BIND_ADDRESS", "SSL_PORT"), bound);
            }
            bind(adminConnector, o.name("listeners.admin", l.admin(), "ADMIN_BIND_ADDRESS"), bound);
        } catch (ListenerBindException e) {
            bound.forEach(ServerConnector::close);
            throw e;
        }
    }

    private static void bind(ServerConnector connector, String setting, List<ServerConnector> bound) throws ListenerBindException {
        try {
            connector.open();
            bound.add(connector);
        } catch (java.io.IOException e) {
            throw new ListenerBindException(setting, e);
        }
    }

    /**
     * Graceful stop: /ready turns 503 at once; after the shutdown delay the listeners close,
     * accepted requests get up to the shutdown timeout to finish, then whatever is left is cut.
     * See {@link GracefulStop} for the phases. WebSocket sessions stay open for their grace time
     * (at most the shutdown timeout), then are closed with 1001 by the {@link WebSocketProxy} bean,
     * which {@code Graceful.shutdown} calls.
     */
    public void stop() throws Exception {
        shuttingDown.set(true);
        try {
            // The delay is read at stop, so a reload can change it; the timeout is built into the listeners at start.
            LbConfig.ShutdownConfig shutdown = new LbConfig.ShutdownConfig(started.shutdown().timeout(), config.shutdown().delay());
            new GracefulStop(server, graceful, shutdown, drainStartListeners, adminConnector, adminContext).run();
        } finally {
            healthChecker.stop();
        }
    }

    /**
     * Runs {@code action} when the listeners close and the drain begins: the place to tell
     * long-lived sessions to go (WebSocket: close with 1001 Going Away), since they are not
     * requests the drain waits for and would otherwise be cut at the timeout.
     */
    public void onDrainStart(Runnable action) {
        drainStartListeners.add(action);
    }

    /** Where {@link #reload()} reads the configuration; the launcher sets it when a file is in use. */
    public void setConfigSource(ConfigSource source) {
        this.configSource = source;
    }

    /** {@link #reload(String)} for a caller that does not say what asked for it. */
    public ReloadResult reload() {
        return reload("requested");
    }

    /**
     * Re-reads the configuration and swaps it in atomically; an invalid one is refused and the
     * running configuration stays. Logs one line saying what asked for it and how it ended
     * (applied, nothing changed, certificates re-read, refused and why), whatever its source,
     * then one line per change that waits for a restart.
     *
     * @param trigger what asked for the reload, for the log: {@code SIGHUP}, {@code POST /api/reload by 127.0.0.1}
     */
    public synchronized ReloadResult reload(String trigger) {
        String by = "reload (" + trigger + ")";
        ConfigSource source = configSource;
        if (source == null) {
            // Renewed certificates are read again even without a file: they change on disk, not in the config.
            String variablesOnly = "no configuration file, the variables are read at start only";
            if (tls == null) {
                reloadApplied();
                LOG.info("{}: nothing to re-read ({}, no certificates)", by, variablesOnly);
                return ReloadResult.ok(List.of());
            }
            List<CertificateInfo> before = tls.certificates();
            List<String> problems = tls.reload(config.tls().certificates());
            if (!problems.isEmpty()) {
                return refuse(by, problems);
            }
            reloadApplied();
            LOG.info("{}: certificates re-read, {} ({})", by, before.equals(tls.certificates()) ? "unchanged" : "new ones serve", variablesOnly);
            return ReloadResult.ok(List.of());
        }
        LbConfig next;
        try {
            next = source.load();
        } catch (ConfigException e) {
            return refuse(by, e.problems());
        } catch (RuntimeException e) {
            return refuse(by, List.of("cannot read the configuration: " + e));
        }
        List<CertificateInfo> certificatesBefore = certificates();
        if (tls != null && next.tls().enabled()) {
            List<String> problems = tls.reload(next.tls().certificates());
            if (!problems.isEmpty()) {
                if (!next.tls().certificates().equals(config.tls().certificates())) {
                    return refuse(by, problems);
                }
                // The same files, caught in the middle of a renewal: the certificates in use stay, the
                // certificate poller tries the files again, and the rest of the file is no reason to wait.
                LOG.warn("{}: the certificates in use stay for now: {}", by, String.join("; ", problems));
            }
        }
        List<String> unstartable = unstartable(next);
        if (!unstartable.isEmpty()) {
            return refuse(by, unstartable);
        }
        try {
            topology.apply(next.clusters());
        } catch (RuntimeException e) {
            return refuse(by, List.of("cannot build the new clusters: " + e.getMessage()));
        }
        List<String> restart = ReloadResult.needingRestart(started, next);
        boolean unchanged = next.equals(config);
        // Kept whole, so that settings added later are never dropped here; needsRestart says what is not in effect yet.
        config = next;
        reloadApplied();
        int backends = topology.clusters().stream().mapToInt(c -> c.backends().size()).sum();
        boolean newCertificates = !certificatesBefore.equals(certificates());
        String outcome = !unchanged ? "applied" : newCertificates ? "certificates re-read" : "nothing changed";
        String waiting = restart.isEmpty() ? "" : "; " + restart.size() + (restart.size() == 1 ? " change waits" : " changes wait")
                + " for a restart";
        LOG.info("{}: {}: {} clusters, {} backends{}{}", by, outcome, next.clusters().size(), backends,
                newCertificates ? ", new certificates serve" : "", waiting);
        restart.forEach(r -> LOG.warn("{}: {}", by, r));
        if (!unchanged) {
            ConfigWarnings.of(next).forEach(w -> LOG.warn("{}: {}", by, w));
        }
        return ReloadResult.ok(restart);
    }

    /**
     * Files of the new configuration that only a start opens (certificates when TLS was off, the
     * backends' CA file, the access log) and that cannot be read or written now: accepted, they
     * would wait for a restart that then exits 2 (a pod in a crash loop). Only what changed is
     * looked at, so that a renewal caught halfway does not refuse an unrelated change.
     */
    private List<String> unstartable(LbConfig next) {
        List<String> problems = new ArrayList<>();
        if (tls == null && next.tls().enabled()) {
            problems.addAll(CertificateFiles.check(next));
        } else if (!Objects.equals(next.tls().backends().caFile(), config.tls().backends().caFile())) {
            problems.addAll(CertificateFiles.checkCaFile(next));
        }
        String log = next.accessLog().target();
        if (next.accessLog().enabled() && !LbConfig.AccessLogConfig.STDOUT.equals(log) && !log.equals(config.accessLog().target())) {
            String why = unwritable(log);
            if (why != null) {
                problems.add(next.origins().name("access_log.target", log, "ACCESS_LOG") + ": cannot open it for appending: " + why);
            }
        }
        return problems;
    }

    /** Why a file cannot be appended to (without creating it: the new path takes effect at the next start), or null. */
    private static String unwritable(String target) {
        try {
            Path file = Path.of(target).toAbsolutePath();
            if (Files.exists(file)) {
                return Files.isRegularFile(file) && Files.isWritable(file) ? null : "not a file this process may write";
            }
            Path dir = file.getParent();
            return dir != null && Files.isDirectory(dir) && Files.isWritable(dir) ? null
                    : "no folder " + dir + " that this process may create it in";
        } catch (java.nio.file.InvalidPathException e) {
            return e.getMessage();
        }
    }

    private ReloadResult refuse(String by, List<String> problems) {
        reloadsFailed.increment();
        lastReloadSucceeded = false;
        LOG.warn("{}: refused, the running configuration stays: {}", by, String.join("; ", problems));
        return ReloadResult.refused(problems);
    }

    public void join() throws InterruptedException {
        server.join();
    }

    public boolean isShuttingDown() {
        return shuttingDown.get() || graceful.isShutdown();
    }

    public boolean isRunning() {
        return server.isStarted() && !isShuttingDown();
    }

    /** The port actually bound, useful when the configuration asked for port 0. */
    public int proxyPort() {
        return proxyConnector.getLocalPort();
    }

    /** The TLS listener's bound port; -1 when TLS is off. */
    public int tlsPort() {
        return tls == null ? -1 : tls.connector().getLocalPort();
    }

    /** The certificates the TLS listener serves now, the default first; empty when TLS is off. */
    public List<CertificateInfo> certificates() {
        return tls == null ? List.of() : tls.certificates();
    }

    public int adminPort() {
        return adminConnector.getLocalPort();
    }

    public long inflightRequests() {
        return graceful.getCurrentRequestCount();
    }

    private static String describe(ServerConnector c) {
        return describe(c.getHost(), c.getLocalPort());
    }

    /** As the address is written in the settings: an IPv6 host in brackets ({@code [::1]:8080}, not {@code ::1:8080}). */
    static String describe(String host, int port) {
        String h = host == null ? "0.0.0.0" : host;
        return port < 0 ? h + ":" + port : new HostPort(h, port).toString();
    }
}
