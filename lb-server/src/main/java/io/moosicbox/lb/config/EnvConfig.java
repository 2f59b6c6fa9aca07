package io.moosicbox.lb.config;

import io.moosicbox.lb.pool.selection.HashKey;
import io.moosicbox.lb.pool.selection.Selectors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads the environment variables of the interface contract on top of a base configuration
 * (the defaults, or a file). Every problem is collected, so that a user fixes them all at once.
 */
public final class EnvConfig {
    public static final List<String> LOG_LEVELS = List.of("error", "warn", "info", "debug", "trace");

    private final Map<String, String> env;
    private final LbConfig.CertificatePair pingoraDefault;
    private final List<String> problems = new ArrayList<>();

    private EnvConfig(Map<String, String> env, LbConfig.CertificatePair pingoraDefault) {
        this.env = env;
        this.pingoraDefault = pingoraDefault;
    }

    /** The configuration with nothing set: defaults of the interface contract, no clusters. */
    public static LbConfig defaults() {
        return new LbConfig(
                new LbConfig.Listeners(new HostPort("0.0.0.0", 80), null, new HostPort("127.0.0.1", 9090)),
                LbConfig.TlsConfig.none(),
                List.of(),
                LbConfig.Timeouts.defaults(),
                LbConfig.ShutdownConfig.defaults(),
                new LbConfig.AdminConfig(null),
                "info",
                LbConfig.AccessLogConfig.off(),
                LbConfig.WebSocketConfig.defaults(),
                Origins.of(Map.of(), java.util.Set.of()));
    }

    /**
     * @param base what the file (or the defaults) said; single values set in {@code env} win
     * @throws ConfigException listing every bad variable, or when no backend is configured
     */
    public static LbConfig load(LbConfig base, Map<String, String> env) throws ConfigException {
        return load(base, env, LbConfig.TlsConfig.PINGORA_DEFAULT);
    }

    /** @param pingoraDefault the certificate pair TLS falls back to when nothing names one and its files exist; null for none */
    static LbConfig load(LbConfig base, Map<String, String> env, LbConfig.CertificatePair pingoraDefault) throws ConfigException {
        EnvConfig reader = new EnvConfig(env, pingoraDefault);
        LbConfig config = reader.apply(base);
        boolean noBackends = config.clusters().isEmpty() || config.clusters().stream().allMatch(c -> c.backends().isEmpty());
        if (noBackends && env.get("BACKEND_SERVERS") == null && env.get("CLUSTERS") == null) {
            reader.problems.add("BACKEND_SERVERS is not set: the balancer needs at least one backend, "
                    + "such as BACKEND_SERVERS=\"http://127.0.0.1:8001,http://127.0.0.1:8002\" "
                    + "(or CLUSTERS, or a configuration file with clusters, or --demo)");
        }
        LbConfig.Listeners l = config.listeners();
        Origins o = config.origins();
        String http = o.name("listeners.http", l.http(), "BIND_ADDRESS", "PORT");
        String https = l.https() == null ? null : o.name("listeners.https", l.https(), "SSL_BIND_ADDRESS", "SSL_PORT");
        // Two listeners on one address: the second bind failed at start with exit 1 and a message naming both.
        String sharedWithAdmin = l.http().port() != 0 && l.http().equals(l.admin()) ? http
                : l.https() != null && l.https().port() != 0 && l.https().equals(l.admin()) ? https : null;
        if (sharedWithAdmin != null) {
            reader.problems.add(o.name("listeners.admin", l.admin(), "ADMIN_BIND_ADDRESS") + ": the same address as a proxy listener ("
                    + sharedWithAdmin + "); give the admin listener its own port, such as 127.0.0.1:9090");
        }
        if (l.https() != null && l.https().port() != 0 && l.https().equals(l.http())) {
            reader.problems.add(https + ": the same address as " + http);
        }
        if (!reader.problems.isEmpty()) {
            throw new ConfigException(reader.problems);
        }
        return config;
    }

    private LbConfig apply(LbConfig base) {
        LbConfig.Listeners l = base.listeners();
        HostPort http = get("BIND_ADDRESS", HostPort::parse, null);
        // PORT is checked even when BIND_ADDRESS wins: a bad value is never silently ignored.
        Integer port = get("PORT", EnvConfig::parsePort, null);
        if (http == null) {
            http = port != null ? new HostPort("0.0.0.0", port) : l.http();
        }
        HostPort admin = get("ADMIN_BIND_ADDRESS", HostPort::parse, l.admin());

        LbConfig.Timeouts t = base.timeouts();
        LbConfig.Timeouts timeouts = new LbConfig.Timeouts(
                get("CONNECT_TIMEOUT", EnvConfig::parsePositiveDuration, t.connect()),
                get("IDLE_TIMEOUT", EnvConfig::parsePositiveDuration, t.idle()),
                get("RESPONSE_HEADERS_TIMEOUT", Durations::parse, t.responseHeaders()));
        LbConfig.ShutdownConfig s = base.shutdown();
        LbConfig.ShutdownConfig shutdown = new LbConfig.ShutdownConfig(
                get("SHUTDOWN_TIMEOUT", Durations::parse, s.timeout()),
                get("SHUTDOWN_DELAY", Durations::parse, s.delay()));

        String token = env.get("ADMIN_TOKEN");
        LbConfig.AdminConfig adminConfig = token != null && !token.isEmpty() ? new LbConfig.AdminConfig(token) : base.admin();

        List<ClusterConfig> clusters = applyClusters(base.clusters());
        String logLevel = logLevel(base.logLevel());

        LbConfig.WebSocketConfig w = base.websocket();
        LbConfig.WebSocketConfig websocket = new LbConfig.WebSocketConfig(
                get("WEBSOCKET_IDLE_TIMEOUT", EnvConfig::parsePositiveDuration, w.idleTimeout()),
                get("WEBSOCKET_DRAIN_GRACE", Durations::parse, w.drainGrace()));

        LbConfig.TlsConfig tls = TlsEnv.tls(this, base.tls(), pingoraDefault);
        return new LbConfig(new LbConfig.Listeners(http, TlsEnv.https(this, l.https(), tls), admin), tls, clusters,
                timeouts, shutdown, adminConfig, logLevel, accessLog(base.accessLog()), websocket,
                Origins.of(env, base.origins().fileKeys()));
    }

    private LbConfig.AccessLogConfig accessLog(LbConfig.AccessLogConfig base) {
        String target = get("ACCESS_LOG", EnvConfig::parseAccessLogTarget, base.target());
        String format = get("ACCESS_LOG_FORMAT", EnvConfig::parseAccessLogFormat, base.format());
        return new LbConfig.AccessLogConfig("off".equals(target) ? null : target, format);
    }

    static String parseAccessLogTarget(String s) {
        String t = s.trim();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("expected off, stdout or a file path");
        }
        // none, false, no and 0 are what people write for off: they wrote a file of that name.
        if (List.of("off", "none", "false", "no", "0").contains(t.toLowerCase(Locale.ROOT))) {
            return "off";
        }
        return t.equalsIgnoreCase("stdout") ? LbConfig.AccessLogConfig.STDOUT : t;
    }

    static String parseAccessLogFormat(String s) {
        String f = s.trim().toLowerCase(Locale.ROOT);
        if (!LbConfig.AccessLogConfig.FORMATS.contains(f)) {
            throw new IllegalArgumentException("expected one of " + String.join(", ", LbConfig.AccessLogConfig.FORMATS));
        }
        return f;
    }

    private List<ClusterConfig> applyClusters(List<ClusterConfig> base) {
        String algorithm = get("LB_ALGORITHM", EnvConfig::parseAlgorithm, null);
        String checkPath = get("HEALTH_CHECK_PATH", EnvConfig::parseCheckPath, null);
        Duration checkInterval = get("HEALTH_CHECK_INTERVAL", EnvConfig::parsePositiveDuration, null);
        Duration checkTimeout = get("HEALTH_CHECK_TIMEOUT", EnvConfig::parsePositiveDuration, null);
        Integer rise = get("HEALTH_CHECK_RISE", s -> ConfigFile.parseWhole(s, 1, 100), null);
        Integer fall = get("HEALTH_CHECK_FALL", s -> ConfigFile.parseWhole(s, 1, 100), null);
        // Empty means unset for the other variables, but these two are what the balancer serves:
        // Compose's ${UNSET} and Kubernetes' value: "" left it with no cluster, answering 421 to everything.
        if ("".equals(env.get("BACKEND_SERVERS"))) {
            problems.add("BACKEND_SERVERS=\"\": empty; expected URL [weight=N] [max_conns=N], comma-separated, "
                    + "such as BACKEND_SERVERS=\"http://127.0.0.1:8001\", or leave the variable out");
        }
        if ("".equals(env.get("CLUSTERS"))) {
            problems.add("CLUSTERS=\"\": empty; expected names:backends;names:backends, such as CLUSTERS=\"*:127.0.0.1:8001\", "
                    + "or leave the variable out");
        }
        List<BackendSpec> backends = get("BACKEND_SERVERS", EnvConfig::parseBackends, null);

        // The MoosicBox form defines the whole set of clusters, replacing any from the file.
        List<ClusterConfig> clusters = new ArrayList<>(get("CLUSTERS", ClustersVariable::parse, base));
        if (backends != null) {
            // The catch-all cluster, whatever the file named it: any host ("*" or no hosts) and every path,
            // else the one named "default", else another of any host. The first of any host alone was the
            // solver of the example file and of the Kubernetes ConfigMap (paths only): ACME challenges went
            // to the MoosicBox servers, and the catch-all kept its old backends.
            ClusterConfig previous = clusters.stream().filter(c -> anyHost(c) && (c.paths().isEmpty() || c.paths().contains("/")))
                    .findFirst()
                    .or(() -> clusters.stream().filter(c -> c.name().equals(ClusterConfig.DEFAULT_NAME)).findFirst())
                    .or(() -> clusters.stream().filter(c -> anyHost(c) && !c.name().equals(ClusterConfig.SOLVER_NAME)).findFirst())
                    .orElse(null);
            ClusterConfig replacement = previous == null
                    ? new ClusterConfig(ClusterConfig.DEFAULT_NAME, List.of("*"), List.of("/"), "round_robin",
                            HealthCheckConfig.defaults(), backends, PoolSettings.defaults())
                    : previous.withBackends(backends);
            if (previous == null) {
                clusters.add(replacement);
            } else {
                clusters.set(clusters.indexOf(previous), replacement);
            }
        }
        // The cluster-wide variables apply to every cluster: they are how MoosicBox users set them today.
        List<ClusterConfig> result = new ArrayList<>();
        for (ClusterConfig c : clusters) {
            HealthCheckConfig hc = c.healthCheck();
            // Not the solver's: cert-manager's and certbot's solvers answer 404 outside the challenge
            // path, so HEALTH_CHECK_PATH took them DOWN and certificate renewal failed with 503s.
            if (checkPath != null && !c.name().equals(ClusterConfig.SOLVER_NAME)) {
                hc = hc.withPath(checkPath);
            }
            if (checkInterval != null) {
                hc = hc.withInterval(checkInterval);
            }
            hc = new HealthCheckConfig(hc.path(), hc.interval(), checkTimeout != null ? checkTimeout : hc.timeout(),
                    rise != null ? rise : hc.rise(), fall != null ? fall : hc.fall());
            result.add(new ClusterConfig(c.name(), c.hosts(), c.paths(), algorithm != null ? algorithm : c.algorithm(),
                    hc, c.backends(), applyPool(c.pool())));
        }
        return result;
    }

    private static boolean anyHost(ClusterConfig c) {
        return c.hosts().isEmpty() || c.hosts().contains("*");
    }

    /** The pool variables apply to every cluster, like the health-check ones. */
    private PoolSettings applyPool(PoolSettings p) {
        return new PoolSettings(
                get("LB_RETRIES", s -> ConfigFile.parseWhole(s, 0, 100), p.retries()),
                get("LB_QUEUE_SIZE", s -> ConfigFile.parseWhole(s, 0, 1_000_000), p.queueSize()),
                get("LB_QUEUE_TIMEOUT", Durations::parse, p.queueTimeout()),
                get("LB_SLOW_START", Durations::parse, p.slowStart()),
                get("LB_HASH_KEY", s -> HashKey.parse(s).toString(), p.hashKey()),
                get("LB_EJECT_AFTER", s -> ConfigFile.parseWhole(s, 0, 1_000_000), p.ejectAfter()),
                get("LB_EJECT_TIME", EnvConfig::parsePositiveDuration, p.ejectTime()),
                get("LB_EJECT_ON_5XX", EnvConfig::parseBoolean, p.ejectOn5xx()),
                get("HEALTH_CHECK_BEFORE_TRAFFIC", EnvConfig::parseBoolean, p.checkBeforeTraffic()));
    }

    private String logLevel(String base) {
        String level = get("LOG_LEVEL", EnvConfig::parseLogLevel, null);
        if (level != null) {
            return level;
        }
        String rustLog = env.get("RUST_LOG");
        if (rustLog != null && !rustLog.isBlank()) {
            String fromRust = RustLog.levelFor(rustLog);
            if (fromRust == null) {
                problems.add("RUST_LOG=\"" + rustLog + "\": expected a level (" + String.join(", ", LOG_LEVELS)
                        + ") or moosicbox_load_balancer=LEVEL");
            } else {
                return fromRust;
            }
        }
        return base;
    }

    void problem(String problem) {
        problems.add(problem);
    }

    /**
     * A setting as the user wrote it, for a problem found after parsing: the variable with its value
     * as given ({@code SSL_REDIRECT_HTTP="1"}) when it is set, else the file's key with the value read
     * ({@code tls.redirect_http: true in the file}). Only for a value that the defaults never give.
     */
    String written(String variable, String fileKey, Object value) {
        String raw = env.get(variable);
        return raw != null && !raw.isEmpty() ? variable + "=\"" + raw + "\"" : fileKey + ": " + value + " in the file";
    }

    /** Reads one variable; a bad value becomes a problem naming the variable and the value. */
    <T> T get(String name, Function<String, T> parser, T fallback) {
        String value = env.get(name);
        if (value == null || value.isEmpty()) {
            return fallback;
        }
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException e) {
            problems.add(name + "=\"" + value + "\": " + e.getMessage());
            return fallback;
        }
    }

    static int parsePort(String s) {
        try {
            int port = Integer.parseInt(s.trim());
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("expected a port number from 0 to 65535");
    }

    /** A variable's true or false: also 1/0, yes/no, on/off, as Compose files and shell scripts write them. */
    public static boolean parseBoolean(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new IllegalArgumentException("expected true or false (or 1/0, yes/no, on/off)");
        };
    }

    static Duration parsePositiveDuration(String s) {
        Duration d = Durations.parse(s);
        if (d.isZero()) {
            throw new IllegalArgumentException("must be more than 0");
        }
        return d;
    }

    static String parseAlgorithm(String s) {
        String name = s.trim().toLowerCase(Locale.ROOT);
        if (!Selectors.isKnown(name)) {
            throw new IllegalArgumentException("unknown algorithm; expected one of " + String.join(", ", Selectors.names()));
        }
        return name;
    }

    static String parseCheckPath(String s) {
        String path = s.trim();
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("expected a path starting with /, such as /health");
        }
        try {
            // What the checker will send: a path that is no URI failed every check, and every backend went DOWN.
            java.net.URI.create("http://backend" + path);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a valid URI path (a space or other character to percent-encode?)", e);
        }
        return path;
    }

    static String parseLogLevel(String s) {
        String level = s.trim().toLowerCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(level)) {
            throw new IllegalArgumentException("expected one of " + String.join(", ", LOG_LEVELS));
        }
        return level;
    }

    /** {@code URL [weight=N] [max_conns=N], ...}; every bad entry is named. */
    static List<BackendSpec> parseBackends(String s) {
        List<BackendSpec> backends = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (String entry : s.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            try {
                BackendSpec spec = BackendSpec.parse(entry);
                if (backends.stream().anyMatch(b -> b.address().equals(spec.address()))) {
                    errors.add("'" + entry.trim() + "' is listed twice");
                } else {
                    backends.add(spec);
                }
            } catch (IllegalArgumentException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("no backend listed; expected URL [weight=N] [max_conns=N], comma-separated");
        }
        return backends;
    }
}
