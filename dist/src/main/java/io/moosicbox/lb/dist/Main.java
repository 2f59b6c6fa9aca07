package io.moosicbox.lb.dist;

import io.moosicbox.lb.admin.AdminApi;
import io.moosicbox.lb.config.ConfigException;
import io.moosicbox.lb.config.ConfigLoader;
import io.moosicbox.lb.config.ConfigPrinter;
import io.moosicbox.lb.config.ConfigWarnings;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.ListenerLimits;
import io.moosicbox.lb.config.Origins;
import io.moosicbox.lb.discovery.HostResolver;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.server.ConfigSource;
import io.moosicbox.lb.server.ConfigWatcher;
import io.moosicbox.lb.server.ListenerBindException;
import io.moosicbox.lb.server.LoadBalancer;
import io.moosicbox.lb.tls.CertificateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/** {@code bin/moosicbox_lb}: reads the configuration, starts the balancer, stops it on SIGTERM. */
public final class Main {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_CONFIG = 2;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    static int run(String[] args, Map<String, String> environment, PrintStream out, PrintStream err) {
        CommandLine cli = CommandLine.parse(args);
        if (!cli.problems().isEmpty()) {
            cli.problems().forEach(p -> err.println("moosicbox_lb: " + p));
            return EXIT_CONFIG;
        }
        if (cli.help()) {
            out.print(resource("usage.txt"));
            return EXIT_OK;
        }
        if (cli.version()) {
            out.println("moosicbox_lb " + version());
            return EXIT_OK;
        }
        Map<String, String> env = new HashMap<>(environment);
        Path file = cli.configFile();
        // The demo runs on its own backends: a deployment's LB_CONFIG left in the shell is not read.
        if (file == null && !cli.demo() && env.get("LB_CONFIG") != null && !env.get("LB_CONFIG").isBlank()) {
            file = Path.of(env.get("LB_CONFIG"));
        }

        DemoBackends demo = null;
        try {
            if (cli.demo()) {
                demo = new DemoBackends();
                prepareDemo(env, demo);
            }
            // Every part is read even when an earlier one failed, so that all problems are reported together.
            List<String> problems = new ArrayList<>();
            LbConfig config = null;
            ListenerLimits limits = null;
            // Taken before the file is read: a ConfigMap update landing while the process starts is then reloaded, not lost.
            byte[] watchBaseline = file == null ? null : ConfigWatcher.snapshot(file);
            try {
                config = ConfigLoader.load(file, env);
            } catch (ConfigException e) {
                // A file that LB_CONFIG names (an export left in the shell, a unit's Environment=) says so.
                String unread = file + ": cannot read the configuration file";
                boolean fromVariable = cli.configFile() == null && file != null;
                for (String p : e.problems()) {
                    problems.add(fromVariable && p.startsWith(unread)
                            ? "LB_CONFIG=\"" + env.get("LB_CONFIG") + "\"" + p.substring(unread.indexOf(": cannot read")) : p);
                }
            }
            try {
                limits = ListenerLimits.fromEnv(env);
            } catch (ConfigException e) {
                problems.addAll(e.problems());
            }
            boolean watchFile = false;
            String watchValue = env.getOrDefault("LB_CONFIG_WATCH", "");
            if (!watchValue.isEmpty()) {
                try {
                    watchFile = EnvConfig.parseBoolean(watchValue);
                } catch (IllegalArgumentException e) {
                    problems.add("LB_CONFIG_WATCH=\"" + watchValue + "\": " + e.getMessage());
                }
            }
            if (!problems.isEmpty()) {
                problems.forEach(p -> err.println("moosicbox_lb: configuration error: " + p));
                return EXIT_CONFIG;
            }
            if (cli.check()) {
                out.println("# moosicbox_lb " + version() + ": configuration is valid; effective setup:");
                out.print(ConfigPrinter.toYaml(config));
                ConfigWarnings.of(config).forEach(w -> out.println("# warning: " + w));
                environmentWarnings(env, file, watchFile).forEach(w -> out.println("# warning: " + w));
                // Settings of the environment only (no file key): shown so that --check tells all that will run.
                out.println("# listener limits (variables only): MAX_BODY_SIZE=" + limits.maxBodyBytes()
                        + (limits.maxBodyBytes() == 0 ? " (no limit)" : "") + " MAX_CLIENT_CONNECTIONS=" + limits.maxConnections()
                        + " RATE_LIMIT_PER_IP=" + limits.ratePerIp() + (limits.ratePerIp() == 0 ? " (off)" : " RATE_LIMIT_BURST=" + limits.rateBurst())
                        + " TRUSTED_PROXIES=" + (limits.trustedProxies().isEmpty() ? "(none)" : String.join(",", limits.trustedProxies())));
                return EXIT_OK;
            }
            // Read here rather than by --check, so that an example file naming absent certificates still validates.
            List<String> tlsProblems = new ArrayList<>(CertificateFiles.check(config));
            tlsProblems.addAll(unresolvableListeners(config));
            if (!tlsProblems.isEmpty()) {
                tlsProblems.forEach(p -> err.println("moosicbox_lb: configuration error: " + p));
                return EXIT_CONFIG;
            }
            if (!cli.demo()) {
                LogSetup.apply(config.logLevel());
            }
            Path configFile = file;
            Path watch = file != null && watchFile ? file : null;
            // Without a file a reload has nothing to re-read but the certificates (the variables are fixed
            // at start), and a broken renewal is then refused instead of taken for a file's same paths.
            ConfigSource source = configFile == null ? null : () -> ConfigLoader.load(configFile, env);
            return serve(config, limits, environmentWarnings(env, file, watchFile), source, watch, watchBaseline, cli.demo(), out, err);
        } catch (Exception e) {
            err.println("moosicbox_lb: " + e);
            return EXIT_FAILURE;
        } finally {
            if (demo != null) {
                try {
                    demo.close();
                } catch (Exception ignored) {
                    // the process is ending
                }
            }
        }
    }

    /**
     * The demo's backends replace those of the catch-all cluster (a file given with --config keeps
     * its other clusters); its listeners take free ports unless given.
     */
    private static void prepareDemo(Map<String, String> env, DemoBackends demo) throws Exception {
        // The demo backends start before the configuration is read: keep Jetty's start-up lines out.
        String level = env.getOrDefault("LOG_LEVEL", "info");
        LogSetup.apply(EnvConfig.LOG_LEVELS.contains(level) ? level.toUpperCase(java.util.Locale.ROOT) : "INFO", "WARN");
        List<String> urls = demo.start(2);
        env.put("BACKEND_SERVERS", String.join(",", urls));
        env.putIfAbsent("BIND_ADDRESS", freeOr("127.0.0.1", 8080));
        env.putIfAbsent("ADMIN_BIND_ADDRESS", freeOr("127.0.0.1", 9090));
    }

    private static String freeOr(String host, int preferred) {
        try (var socket = new java.net.ServerSocket(preferred, 1, InetAddress.getByName(host))) {
            return host + ":" + preferred;
        } catch (IOException e) {
            return host + ":0";
        }
    }

    /** @param watch the configuration file to reload when it changes, or null */
    /**
     * Listener host names that do not resolve: a setting of this machine, so exit 2 (which the
     * systemd unit does not restart), not the bind's exit 1 (which it restarted for ever).
     */
    static List<String> unresolvableListeners(LbConfig config) {
        List<String> problems = new ArrayList<>();
        LbConfig.Listeners l = config.listeners();
        Origins o = config.origins();
        checkResolves(problems, l.http(), () -> o.name("listeners.http", l.http(), "BIND_ADDRESS", "PORT"));
        checkResolves(problems, l.https(), () -> o.name("listeners.https", l.https(), "SSL_BIND_ADDRESS", "SSL_PORT"));
        checkResolves(problems, l.admin(), () -> o.name("listeners.admin", l.admin(), "ADMIN_BIND_ADDRESS"));
        return problems;
    }

    private static void checkResolves(List<String> problems, HostPort address, java.util.function.Supplier<String> setting) {
        if (address == null) {
            return;
        }
        try {
            InetAddress.getByName(address.host());
        } catch (UnknownHostException e) {
            problems.add(setting.get() + ": the host name " + address.host() + " does not resolve on this machine");
        }
    }

    /** Variables that are set and do nothing. */
    private static List<String> environmentWarnings(Map<String, String> env, Path file, boolean watchFile) {
        List<String> warnings = new ArrayList<>(ConfigWarnings.ofEnvironment(env));
        if (watchFile && file == null) {
            warnings.add("LB_CONFIG_WATCH=" + env.get("LB_CONFIG_WATCH") + " has no effect without a configuration file (--config FILE or LB_CONFIG)");
        }
        return warnings;
    }

    private static int serve(LbConfig config, ListenerLimits limits, List<String> environmentWarnings, ConfigSource source, Path watch, byte[] watchBaseline, boolean demo,
            PrintStream out, PrintStream err)
            throws Exception {
        Logger log = LoggerFactory.getLogger(Main.class);
        LoadBalancer lb = new LoadBalancer(config, HostResolver.system(), limits);
        lb.setConfigSource(source);
        AdminApi.install(lb, version());

        CountDownLatch stopRequested = new CountDownLatch(1);
        AtomicInteger signals = new AtomicInteger();
        sun.misc.SignalHandler onStop = signal -> {
            if (signals.incrementAndGet() == 1) {
                log.info("SIG{} received: graceful shutdown", signal.getName());
                stopRequested.countDown();
            } else {
                log.warn("SIG{} received again: stopping now, {} requests cut", signal.getName(), lb.inflightRequests());
                Runtime.getRuntime().halt(EXIT_FAILURE);
            }
        };
        // The JVM keeps a stop signal ignored that was ignored when it started: a shell script's
        // background job (moosicbox_lb &) starts with SIGINT ignored, and kill -INT did nothing, silently.
        boolean termIgnored = Signal.handle(new Signal("TERM"), onStop) == sun.misc.SignalHandler.SIG_IGN;
        boolean intIgnored = Signal.handle(new Signal("INT"), onStop) == sun.misc.SignalHandler.SIG_IGN;
        if (termIgnored) {
            log.warn("SIGTERM was ignored by whatever started the balancer and will not stop it: use {}",
                    intIgnored ? "SIGKILL (no graceful shutdown is possible)" : "SIGINT");
        }
        if (intIgnored) {
            log.warn("SIGINT was ignored by whatever started the balancer (a background job of a shell script?) and will not stop it: use {}",
                    termIgnored ? "SIGKILL (no graceful shutdown is possible)" : "SIGTERM");
        }
        // SIGHUP re-reads the file (without one, the certificates); reload() logs the signal and the outcome.
        if (Signal.handle(new Signal("HUP"), signal -> lb.reload("SIGHUP")) == sun.misc.SignalHandler.SIG_IGN) {
            // The JVM keeps a signal ignored that was ignored when it started (nohup): say so rather than drop reloads.
            log.warn("SIGHUP was ignored by whatever started the balancer (nohup?) and will not reload it: use POST /api/reload");
        }

        try {
            lb.start();
            environmentWarnings.forEach(log::warn);
        } catch (Exception e) {
            try {
                lb.server().stop();
            } catch (Exception stopFailure) {
                e.addSuppressed(stopFailure);
            }
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ConfigException unusable) {
                    // A setting that only shows as wrong when used (an access log file that cannot be opened).
                    unusable.problems().forEach(p -> err.println("moosicbox_lb: configuration error: " + p));
                    return EXIT_CONFIG;
                }
            }
            // A listener that cannot bind names itself (cannot listen on BIND_ADDRESS=...: Address already in use).
            Throwable cause = e;
            while (cause.getCause() != null && !(cause instanceof ListenerBindException)) {
                cause = cause.getCause();
            }
            err.println("moosicbox_lb: cannot start: " + (cause instanceof ListenerBindException ? cause : e).getMessage());
            return EXIT_FAILURE;
        }
        if (demo) {
            String proxy = "http://127.0.0.1:" + lb.proxyPort();
            String admin = "http://127.0.0.1:" + lb.adminPort();
            out.println();
            out.println("moosicbox_lb demo is running: two backends on loopback, the balancer in front.");
            out.println("  try:      curl " + proxy + "/   (run it twice: the answering backend alternates)");
            out.println("  websocket: ws://127.0.0.1:" + lb.proxyPort() + "/ws   (echoes text messages, naming its backend)");
            if (lb.tlsPort() > 0) {
                out.println("  tls:      curl -k https://127.0.0.1:" + lb.tlsPort() + "/");
            }
            out.println("  health:   curl " + admin + "/health");
            out.println("  ready:    curl " + admin + "/ready");
            out.println("  dashboard: " + admin + "/   (metrics: " + admin + "/metrics)");
            out.println("  stop:     Ctrl-C");
            out.println();
            out.flush();
        }
        ConfigWatcher watcher = watch == null ? null : new ConfigWatcher(watch, watchBaseline, Duration.ofSeconds(2),
                () -> lb.reload("LB_CONFIG_WATCH: " + watch + " changed"));
        stopRequested.await();
        if (watcher != null) {
            watcher.close();
        }
        lb.stop();
        return EXIT_OK;
    }

    static String version() {
        Properties p = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException ignored) {
            // unknown version
        }
        return p.getProperty("version", "unknown");
    }

    private static String resource(String name) {
        try (InputStream in = Main.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            return "";
        }
    }
}
