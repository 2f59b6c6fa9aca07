package io.moosicbox.lb.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bin/moosicbox_lb} of the unpacked tarball, run as a separate process with a given
 * environment. Listeners default to port 0; the ports actually bound are read from the log.
 */
final class LbProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("proxy listening on (\\S+):(\\d+), admin on (\\S+):(\\d+)");
    private static final Pattern TLS_LISTENING = Pattern.compile("admin on \\S+, TLS on (\\S+):(\\d+)");

    private final Process process;
    private final Path stdout;
    private final Path stderr;
    private int proxyPort = -1;
    private int adminPort = -1;
    private int tlsPort = -1;

    private LbProcess(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    static Path home() {
        String dir = System.getProperty("lb.dist.dir");
        if (dir == null || !Files.isDirectory(Path.of(dir))) {
            throw new IllegalStateException("the unpacked distribution is missing (" + dir + "): build the dist module first");
        }
        return Path.of(dir);
    }

    static Path launcher() {
        return home().resolve("bin/moosicbox_lb");
    }

    /** Starts the balancer and waits until it logs its listening ports. */
    static LbProcess start(Map<String, String> env, String... args) throws IOException, InterruptedException {
        LbProcess p = launch(env, args);
        p.awaitListening(Duration.ofSeconds(30));
        return p;
    }

    /** Starts the process and returns at once. */
    static LbProcess launch(Map<String, String> env, String... args) throws IOException {
        return launch(List.of(), env, args);
    }

    /**
     * Starts the process through {@code prefix}, a command that ends by running its arguments
     * (such as {@code sh -c 'trap "" INT; exec "$@"' sh}), and returns at once.
     */
    static LbProcess launch(List<String> prefix, Map<String, String> env, String... args) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.add(launcher().toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> e = pb.environment();
        // The test's own environment must not leak settings into the balancer.
        e.keySet().removeIf(k -> k.startsWith("LB_") || k.equals("BACKEND_SERVERS") || k.equals("BIND_ADDRESS")
                || k.equals("ADMIN_BIND_ADDRESS") || k.equals("PORT") || k.equals("RUST_LOG") || k.equals("LOG_LEVEL")
                || k.equals("CLUSTERS") || k.startsWith("SSL_") || k.equals("ADMIN_TOKEN"));
        e.putIfAbsent("BIND_ADDRESS", "127.0.0.1:0");
        e.putIfAbsent("ADMIN_BIND_ADDRESS", "127.0.0.1:0");
        e.put("JAVA_OPTS", env.getOrDefault("JAVA_OPTS", "-Xmx256m"));
        e.putAll(env);
        Path dir = Files.createDirectories(Path.of("target", "lb-runs"));
        Path out = Files.createTempFile(dir, "lb-", ".out");
        Path err = Files.createTempFile(dir, "lb-", ".err");
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return new LbProcess(pb.start(), out, err);
    }

    void awaitListening(Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(stderr() + stdout());
            if (m.find()) {
                proxyPort = Integer.parseInt(m.group(2));
                adminPort = Integer.parseInt(m.group(4));
                Matcher tls = TLS_LISTENING.matcher(stderr() + stdout());
                tlsPort = tls.find() ? Integer.parseInt(tls.group(2)) : -1;
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("moosicbox_lb exited with " + process.exitValue() + ":\n" + stderr() + stdout());
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("moosicbox_lb did not start within " + timeout + ":\n" + stderr() + stdout());
    }

    int proxyPort() {
        return proxyPort;
    }

    /** -1 when TLS is off. */
    int tlsPort() {
        return tlsPort;
    }

    int adminPort() {
        return adminPort;
    }

    String proxyUrl() {
        return "http://127.0.0.1:" + proxyPort;
    }

    String adminUrl() {
        return "http://127.0.0.1:" + adminPort;
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    String stdout() throws IOException {
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }

    String stderr() throws IOException {
        return Files.readString(stderr, StandardCharsets.UTF_8);
    }

    /** Waits for the process to end by itself. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("moosicbox_lb still running after " + timeout);
        }
        return process.exitValue();
    }

    /** Sends SIGTERM (what systemd, Docker and Kubernetes send) and waits for the exit code. */
    int terminate(Duration timeout) throws InterruptedException, IOException {
        signal("TERM");
        return awaitExit(timeout);
    }

    void signal(String name) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
    }

    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }
}
