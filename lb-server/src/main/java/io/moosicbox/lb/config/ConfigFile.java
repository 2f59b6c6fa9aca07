package io.moosicbox.lb.config;

import io.moosicbox.lb.config.YamlTree.Field;
import io.moosicbox.lb.config.YamlTree.ListNode;
import io.moosicbox.lb.config.YamlTree.MapNode;
import io.moosicbox.lb.config.YamlTree.Node;
import io.moosicbox.lb.config.YamlTree.Scalar;
import io.moosicbox.lb.route.Router;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Reads the YAML configuration file into {@link LbConfig}. Every problem is collected with the
 * file, line and key ({@code lb.yaml:12: clusters[1].backends[0].weight: "x": expected a whole
 * number}); unknown keys are problems too, so that a misspelt setting is never silently ignored.
 */
public final class ConfigFile {
    private static final List<String> ROOT_KEYS = List.of("listeners", "tls", "clusters", "timeouts", "shutdown", "admin", "log_level", "access_log", "websocket");
    private static final List<String> CLUSTER_KEYS = List.of("name", "hosts", "paths", "algorithm", "health_check", "backends",
            "retries", "queue_size", "queue_timeout", "slow_start", "hash_key",
            "eject_after", "eject_time", "eject_on_5xx", "check_before_traffic");
    // A trailing dot (the DNS root, music.example.com.) is allowed: the router reads it as the name without it.
    private static final Pattern HOST = Pattern.compile("\\*|(\\*\\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\\.?|\\[[0-9a-f:.]+]");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._*-]*");
    private static final Pattern HASH_KEY = Pattern.compile("client_ip|(header|cookie):[A-Za-z0-9!#$%&'*+.^_`|~-]+");

    /** @param config what could be read, defaults where a value was bad; meaningful only without problems */
    public record Result(LbConfig config, List<String> problems) {}

    private final String name;
    /** The file itself, whose folder relative file paths in it are read against; null: as written. */
    private final Path file;
    private final List<String> problems = new ArrayList<>();
    /** Keys given a value, for {@link Origins}. */
    private final java.util.Set<String> given = new java.util.HashSet<>();

    private ConfigFile(String name, Path file) {
        this.name = name;
        this.file = file;
    }

    public static Result read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return new Result(EnvConfig.defaults(), List.of(file + ": cannot read the configuration file: " + FileErrors.describe(file, e)));
        }
        return read(file.toString(), new StringReader(text), file);
    }

    /** @param name the file as the user named it, for the problems; relative paths in it are kept as written */
    public static Result read(String name, Reader in) {
        return read(name, in, null);
    }

    private static Result read(String name, Reader in, Path file) {
        ConfigFile reader = new ConfigFile(name, file);
        LbConfig config = EnvConfig.defaults();
        try {
            Node root = YamlTree.parse(in, (line, message) -> reader.problems.add(name + ":" + line + ": " + message));
            if (root == null) {
                reader.problems.add(name + ": the file is empty; expected at least a clusters: section");
            } else {
                MapNode map = reader.map(root, "");
                if (map == null) {
                    reader.problems.add(name + ":" + root.line() + ": expected keys such as listeners:, clusters:");
                } else {
                    config = reader.root(map, config);
                }
            }
        } catch (YamlTree.SyntaxError e) {
            reader.problems.add(name + ":" + e.line + ": not valid YAML: " + e.getMessage().replace('\n', ' '));
        } catch (IOException e) {
            reader.problems.add(name + ": cannot read the configuration file: " + FileErrors.describe(null, e));
        }
        return new Result(config, reader.problems.stream().sorted(java.util.Comparator.comparingInt(reader::lineOf)).toList());
    }

    /** Problems in the order of the file, so that a user fixes them top to bottom. */
    private int lineOf(String problem) {
        int start = name.length() + 1;
        int end = problem.indexOf(':', start);
        try {
            return end > start ? Integer.parseInt(problem.substring(start, end)) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private LbConfig root(MapNode m, LbConfig d) {
        keys(m, "", ROOT_KEYS);
        LbConfig.Listeners listeners = listeners(m, d.listeners());
        LbConfig.TlsConfig tls = tls(m, d.tls());
        if (tls.enabled() && listeners.https() == null) {
            listeners = new LbConfig.Listeners(listeners.http(), new HostPort("0.0.0.0", 443), listeners.admin());
        }
        List<ClusterConfig> clusters = clusters(m);
        MapNode t = section(m, "timeouts", "", List.of("connect", "idle", "response_headers"));
        LbConfig.Timeouts td = d.timeouts();
        LbConfig.Timeouts timeouts = t == null ? td : new LbConfig.Timeouts(
                value(t, "connect", "timeouts", EnvConfig::parsePositiveDuration, td.connect()),
                value(t, "idle", "timeouts", EnvConfig::parsePositiveDuration, td.idle()),
                value(t, "response_headers", "timeouts", Durations::parse, td.responseHeaders()));
        MapNode s = section(m, "shutdown", "", List.of("timeout", "delay"));
        LbConfig.ShutdownConfig sd = d.shutdown();
        LbConfig.ShutdownConfig shutdown = s == null ? sd : new LbConfig.ShutdownConfig(
                value(s, "timeout", "shutdown", Durations::parse, sd.timeout()),
                value(s, "delay", "shutdown", Durations::parse, sd.delay()));
        MapNode a = section(m, "admin", "", List.of("token"));
        LbConfig.AdminConfig admin = a == null ? d.admin()
                : new LbConfig.AdminConfig(value(a, "token", "admin", v -> v, d.admin().token()));
        String logLevel = value(m, "log_level", "", EnvConfig::parseLogLevel, d.logLevel());
        MapNode al = section(m, "access_log", "", List.of("target", "format"));
        LbConfig.AccessLogConfig accessLog = d.accessLog();
        if (al != null) {
            String target = value(al, "target", "access_log", EnvConfig::parseAccessLogTarget, "off");
            accessLog = new LbConfig.AccessLogConfig("off".equals(target) ? null
                    : LbConfig.AccessLogConfig.STDOUT.equals(target) ? target : besideTheFile(target),
                    value(al, "format", "access_log", EnvConfig::parseAccessLogFormat, d.accessLog().format()));
        }
        MapNode w = section(m, "websocket", "", List.of("idle_timeout", "drain_grace"));
        LbConfig.WebSocketConfig wd = d.websocket();
        LbConfig.WebSocketConfig websocket = w == null ? wd : new LbConfig.WebSocketConfig(
                value(w, "idle_timeout", "websocket", EnvConfig::parsePositiveDuration, wd.idleTimeout()),
                value(w, "drain_grace", "websocket", Durations::parse, wd.drainGrace()));
        return new LbConfig(listeners, tls, clusters, timeouts, shutdown, admin, logLevel, accessLog, websocket,
                new Origins(Map.of(), given, true));
    }

    private LbConfig.Listeners listeners(MapNode root, LbConfig.Listeners d) {
        MapNode l = section(root, "listeners", "", List.of("http", "https", "admin"));
        if (l == null) {
            return d;
        }
        return new LbConfig.Listeners(
                value(l, "http", "listeners", HostPort::parse, d.http()),
                value(l, "https", "listeners", HostPort::parse, d.https()),
                value(l, "admin", "listeners", HostPort::parse, d.admin()));
    }

    private LbConfig.TlsConfig tls(MapNode root, LbConfig.TlsConfig d) {
        MapNode t = section(root, "tls", "", List.of("certificates", "redirect_http", "redirect_port", "hsts_max_age", "reload_interval", "backends"));
        if (t == null) {
            return d;
        }
        List<LbConfig.CertificatePair> pairs = new ArrayList<>();
        List<Node> certs = list(t, "certificates", "tls");
        for (int i = 0; i < certs.size(); i++) {
            String path = "tls.certificates[" + i + "]";
            MapNode c = map(certs.get(i), path);
            if (c == null) {
                continue;
            }
            keys(c, path, List.of("cert", "key"));
            String cert = required(c, "cert", path);
            String key = required(c, "key", path);
            if (cert != null && key != null) {
                pairs.add(new LbConfig.CertificatePair(besideTheFile(cert), besideTheFile(key)));
            }
        }
        boolean redirect = value(t, "redirect_http", "tls", ConfigFile::parseBoolean, d.redirectHttp());
        MapNode b = section(t, "backends", "tls", List.of("ca_file", "insecure_skip_verify", "http2"));
        LbConfig.BackendTls bd = d.backends();
        LbConfig.BackendTls backends = b == null ? bd : new LbConfig.BackendTls(
                value(b, "ca_file", "tls.backends", this::besideTheFile, bd.caFile()),
                value(b, "insecure_skip_verify", "tls.backends", ConfigFile::parseBoolean, bd.insecureSkipVerify()),
                value(b, "http2", "tls.backends", ConfigFile::parseBoolean, bd.http2()));
        return new LbConfig.TlsConfig(pairs, redirect,
                value(t, "hsts_max_age", "tls", Durations.zeroOrAtLeast(LbConfig.TlsConfig.MIN_HSTS_MAX_AGE), d.hstsMaxAge()),
                value(t, "reload_interval", "tls", Durations.zeroOrAtLeast(LbConfig.TlsConfig.MIN_RELOAD_INTERVAL), d.reloadInterval()),
                backends,
                value(t, "redirect_port", "tls", EnvConfig::parsePort, d.redirectPort()));
    }

    private List<ClusterConfig> clusters(MapNode root) {
        List<Node> items = list(root, "clusters", "");
        List<ClusterConfig> clusters = new ArrayList<>();
        Map<String, String> names = new HashMap<>();
        Map<String, String> routes = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
            String path = "clusters[" + i + "]";
            MapNode c = map(items.get(i), path);
            if (c == null) {
                continue;
            }
            keys(c, path, CLUSTER_KEYS);
            String clusterName = value(c, "name", path, ConfigFile::parseName, null);
            if (clusterName == null && !hasValue(c, "name")) {
                problem(c.line(), path + ".name", "missing; every cluster needs a name");
            }
            if (clusterName != null && names.putIfAbsent(clusterName, path) != null) {
                problem(c.fields().get("name").value().line(), path + ".name",
                        "\"" + clusterName + "\": the name of " + names.get(clusterName) + " too; names must be unique");
            }
            List<String> hosts = strings(c, "hosts", path, ConfigFile::parseHost);
            List<String> paths = strings(c, "paths", path, ConfigFile::parsePath);
            String label = clusterName == null ? path : clusterName;
            for (String h : hosts.isEmpty() ? List.of("*") : hosts) {
                for (String p : paths.isEmpty() ? List.of("/") : paths) {
                    String route = Router.normaliseHost(h) + " " + (Router.normalisePrefix(p).isEmpty() ? "/" : Router.normalisePrefix(p));
                    String other = routes.putIfAbsent(route, label);
                    if (other != null) {
                        Field f = c.fields().getOrDefault("hosts", c.fields().get("paths"));
                        problem(f == null ? c.line() : f.keyLine(), path, "host " + h + " path " + p + " is already routed to cluster "
                                + other + "; each host and path goes to one cluster");
                    }
                }
            }
            String algorithm = value(c, "algorithm", path, EnvConfig::parseAlgorithm, "round_robin");
            HealthCheckConfig health = healthCheck(c, path);
            List<BackendSpec> backends = backends(c, path);
            PoolSettings pool = poolSettings(c, path);
            clusters.add(new ClusterConfig(label, hosts, paths, algorithm, health, backends, pool));
        }
        return clusters;
    }

    /** The pool settings live flat in the cluster; one place to map a new one. */
    private PoolSettings poolSettings(MapNode c, String path) {
        PoolSettings d = PoolSettings.defaults();
        return new PoolSettings(
                value(c, "retries", path, v -> parseWhole(v, 0, 100), d.retries()),
                value(c, "queue_size", path, v -> parseWhole(v, 0, 1_000_000), d.queueSize()),
                value(c, "queue_timeout", path, Durations::parse, d.queueTimeout()),
                value(c, "slow_start", path, Durations::parse, d.slowStart()),
                value(c, "hash_key", path, ConfigFile::parseHashKey, d.hashKey()),
                value(c, "eject_after", path, v -> parseWhole(v, 0, 1_000_000), d.ejectAfter()),
                value(c, "eject_time", path, EnvConfig::parsePositiveDuration, d.ejectTime()),
                value(c, "eject_on_5xx", path, ConfigFile::parseBoolean, d.ejectOn5xx()),
                value(c, "check_before_traffic", path, ConfigFile::parseBoolean, d.checkBeforeTraffic()));
    }

    private HealthCheckConfig healthCheck(MapNode c, String path) {
        HealthCheckConfig d = HealthCheckConfig.defaults();
        MapNode h = section(c, "health_check", path, List.of("path", "interval", "timeout", "rise", "fall"));
        if (h == null) {
            return d;
        }
        String p = path + ".health_check";
        return new HealthCheckConfig(
                value(h, "path", p, EnvConfig::parseCheckPath, d.path()),
                value(h, "interval", p, EnvConfig::parsePositiveDuration, d.interval()),
                value(h, "timeout", p, EnvConfig::parsePositiveDuration, d.timeout()),
                value(h, "rise", p, v -> parseWhole(v, 1, 100), d.rise()),
                value(h, "fall", p, v -> parseWhole(v, 1, 100), d.fall()));
    }

    private List<BackendSpec> backends(MapNode c, String path) {
        List<Node> items = list(c, "backends", path);
        if (items.isEmpty()) {
            // An empty list too: the cluster would answer 503 for ever.
            problem(c.line(), path + ".backends", (hasValue(c, "backends") ? "empty" : "missing")
                    + "; every cluster needs at least one backend");
        }
        List<BackendSpec> backends = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
            String p = path + ".backends[" + i + "]";
            Node n = items.get(i);
            BackendSpec spec = null;
            if (n instanceof Scalar s) {
                spec = parse(s, p, BackendSpec::parse);
            } else if (n instanceof MapNode m) {
                keys(m, p, List.of("url", "weight", "max_conns", "resolve"));
                java.net.URI url = value(m, "url", p, BackendSpec::parseUrl, null);
                if (url == null && !hasValue(m, "url")) {
                    problem(m.line(), p + ".url", "missing; expected http://host:port");
                }
                int weight = value(m, "weight", p, v -> parseWhole(v, 1, 10_000), BackendSpec.DEFAULT_WEIGHT);
                int maxConns = value(m, "max_conns", p, v -> parseWhole(v, 0, 1_000_000), 0);
                Duration resolve = value(m, "resolve", p, ConfigFile::parseResolve, Duration.ZERO);
                spec = url == null ? null : new BackendSpec(url, weight, maxConns, resolve);
            } else {
                problem(n.line(), p, "expected a URL or {url: ..., weight: ...}");
            }
            if (spec != null) {
                Integer before = seen.putIfAbsent(spec.address(), i);
                if (before != null) {
                    problem(n.line(), p, spec.address() + " is listed twice (also " + path + ".backends[" + before + "])");
                } else {
                    backends.add(spec);
                }
            }
        }
        return backends;
    }

    /**
     * A relative path in the file names a file next to it, as a configuration and its certificates
     * mounted together (a Kubernetes Secret and ConfigMap) are written: read against the working
     * folder, it depended on where the process was started from. Not resolved through symbolic
     * links, so that the folder is the one the user named (a ConfigMap's link into ..data stays out).
     */
    private String besideTheFile(String path) {
        if (file == null) {
            return path;
        }
        try {
            return file.resolveSibling(path).toString();
        } catch (java.nio.file.InvalidPathException e) {
            // Left as written: opening it reports the setting and why.
            return path;
        }
    }

    // ---- tree helpers: each reports its own problem and returns a fallback, so that reading goes on

    private void problem(int line, String key, String message) {
        problems.add(name + ":" + line + ": " + (key.isEmpty() ? "" : key + ": ") + message);
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private void keys(MapNode m, String path, List<String> allowed) {
        for (Field f : m.fields().values()) {
            if (!allowed.contains(f.key())) {
                problem(f.keyLine(), join(path, f.key()), "unknown key; expected one of " + String.join(", ", allowed));
            }
        }
    }

    private static boolean hasValue(MapNode m, String key) {
        Field f = m.fields().get(key);
        return f != null && !(f.value() instanceof Scalar s && s.text() == null);
    }

    private MapNode map(Node n, String path) {
        if (n instanceof MapNode m) {
            return m;
        }
        if (n instanceof Scalar s && s.text() == null) {
            return null;
        }
        problem(n.line(), path, "expected keys and values (a mapping)");
        return null;
    }

    private MapNode section(MapNode parent, String key, String path, List<String> allowed) {
        Field f = parent.fields().get(key);
        if (f == null) {
            return null;
        }
        MapNode m = map(f.value(), join(path, key));
        if (m != null) {
            keys(m, join(path, key), allowed);
        }
        return m;
    }

    private List<Node> list(MapNode parent, String key, String path) {
        Field f = parent.fields().get(key);
        if (f == null) {
            return List.of();
        }
        return switch (f.value()) {
            case ListNode l -> l.items();
            case Scalar s when s.text() == null -> List.of();
            case Scalar s -> List.of(s);
            case MapNode m -> {
                problem(m.line(), join(path, key), "expected a list");
                yield List.of();
            }
        };
    }

    private List<String> strings(MapNode parent, String key, String path, Function<String, String> parser) {
        List<String> result = new ArrayList<>();
        List<Node> items = list(parent, key, path);
        for (int i = 0; i < items.size(); i++) {
            String v = parse(items.get(i), join(path, key) + "[" + i + "]", parser);
            if (v != null) {
                result.add(v);
            }
        }
        return result;
    }

    private String required(MapNode m, String key, String path) {
        String v = value(m, key, path, s -> s, null);
        if (v == null && !hasValue(m, key)) {
            problem(m.line(), join(path, key), "missing");
        }
        return v;
    }

    private <T> T value(MapNode m, String key, String path, Function<String, T> parser, T fallback) {
        Field f = m.fields().get(key);
        if (f == null || (f.value() instanceof Scalar s && s.text() == null)) {
            // An empty value (or null) means the default, as if the key were not written.
            return fallback;
        }
        T v = parse(f.value(), join(path, key), parser);
        given.add(join(path, key));
        return v == null ? fallback : v;
    }

    private <T> T parse(Node n, String path, Function<String, T> parser) {
        if (!(n instanceof Scalar s)) {
            problem(n.line(), path, "expected a single value");
            return null;
        }
        if (s.text() == null) {
            problem(n.line(), path, "no value given");
            return null;
        }
        try {
            return parser.apply(s.text());
        } catch (IllegalArgumentException e) {
            problem(n.line(), path, "\"" + s.text() + "\": " + e.getMessage());
            return null;
        }
    }

    // ---- value parsers

    static int parseWhole(String s, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected a whole number");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException("expected a whole number from " + min + " to " + max);
        }
        return n;
    }

    static boolean parseBoolean(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("expected true or false");
        };
    }

    static String parseName(String s) {
        if (!NAME.matcher(s).matches()) {
            throw new IllegalArgumentException("expected letters, digits, '.', '-' or '_'");
        }
        return s;
    }

    static String parseHost(String s) {
        String h = s.trim().toLowerCase(Locale.ROOT);
        if (!HOST.matcher(h).matches()) {
            throw new IllegalArgumentException("expected a host name such as music.example.com, a wildcard such as *.example.com, or *");
        }
        return h;
    }

    static String parsePath(String s) {
        if (!s.startsWith("/") || s.contains("?") || s.contains("#") || s.contains(" ")) {
            throw new IllegalArgumentException("expected a path prefix starting with /, such as /api/");
        }
        return s;
    }

    static String parseHashKey(String s) {
        if (!HASH_KEY.matcher(s).matches()) {
            throw new IllegalArgumentException("expected client_ip, header:NAME or cookie:NAME");
        }
        return s;
    }

    private static Duration parseResolve(String s) {
        try {
            return BackendSpec.parseResolve(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replaceFirst("^resolve='[^']*': ", ""));
        }
    }
}
