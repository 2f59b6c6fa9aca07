package io.moosicbox.lb.it.admin;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The unpacked tarball's {@code bin/moosicbox_lb} as a separate process, on free loopback ports. */
final class AdminDist implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("proxy listening on [^:]+:(\\d+), admin on [^:]+:(\\d+)");

    private final Process process;
    private final CopyOnWriteArrayList<String> output = new CopyOnWriteArrayList<>();
    private volatile int proxyPort;
    private volatile int adminPort;

    AdminDist(Map<String, String> env) throws Exception {
        Path dist = Path.of(System.getProperty("lb.dist.dir", "../dist/target/moosicbox-lb-0.1.0/moosicbox-lb-0.1.0"));
        Path script = dist.resolve("bin/moosicbox_lb");
        if (!Files.isExecutable(script)) {
            throw new IllegalStateException(script + " is missing: build the tarball first (./dev build)");
        }
        ProcessBuilder pb = new ProcessBuilder(script.toString()).redirectErrorStream(true);
        Map<String, String> e = new HashMap<>(Map.of(
                "JAVA_HOME", System.getProperty("java.home"),
                "BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "SHUTDOWN_TIMEOUT", "2s",
                "JAVA_OPTS", "-Xms64m -Xmx256m"));
        e.putAll(env);
        pb.environment().putAll(e);
        process = pb.start();
        Thread.ofPlatform().daemon().name("lb-output").start(this::readOutput);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (adminPort == 0) {
            if (!process.isAlive()) {
                throw new IllegalStateException("moosicbox_lb exited with " + process.exitValue() + ":\n" + String.join("\n", output));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("moosicbox_lb did not start in 30 s:\n" + String.join("\n", output));
            }
            Thread.sleep(25);
        }
    }

    private void readOutput() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                output.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    proxyPort = Integer.parseInt(m.group(1));
                    adminPort = Integer.parseInt(m.group(2));
                }
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }

    String proxy() {
        return "http://127.0.0.1:" + proxyPort;
    }

    String admin() {
        return "http://127.0.0.1:" + adminPort;
    }

    /** Everything the process printed so far (stdout and stderr). */
    String output() {
        return String.join("\n", output);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
