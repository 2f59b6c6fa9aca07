package io.moosicbox.lb.it.streaming;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code bin/moosicbox_lb} of the unpacked tarball, as a separate process on free loopback ports. */
final class BalancerProcess implements AutoCloseable {
    final Process process;
    final int proxyPort;
    final int adminPort;
    final Path log;

    private BalancerProcess(Process process, int proxyPort, int adminPort, Path log) {
        this.process = process;
        this.proxyPort = proxyPort;
        this.adminPort = adminPort;
        this.log = log;
    }

    static BalancerProcess start(Map<String, String> env) throws Exception {
        Path dist = Path.of(System.getProperty("lb.dist.dir"));
        int proxyPort = freePort();
        int adminPort = freePort();
        ProcessBuilder pb = new ProcessBuilder(dist.resolve("bin/moosicbox_lb").toString());
        pb.environment().remove("LB_CONFIG");
        pb.environment().put("BIND_ADDRESS", "127.0.0.1:" + proxyPort);
        pb.environment().put("ADMIN_BIND_ADDRESS", "127.0.0.1:" + adminPort);
        pb.environment().putAll(env);
        Path log = Files.createTempFile("moosicbox-lb-it", ".log");
        pb.redirectErrorStream(true);
        pb.redirectOutput(log.toFile());
        BalancerProcess lb = new BalancerProcess(pb.start(), proxyPort, adminPort, log);
        lb.awaitHealthy();
        return lb;
    }

    private void awaitHealthy() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("moosicbox_lb exited with " + process.exitValue() + ":\n" + output());
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/health"))
                        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        String output = output();
        close();
        throw new IllegalStateException("moosicbox_lb did not become healthy within 90 s:\n" + output);
    }

    String url() {
        return "http://127.0.0.1:" + proxyPort;
    }

    String output() throws IOException {
        return Files.readString(log);
    }

    /** Resident memory of the balancer process, from /proc; -1 where there is none. */
    long residentKib() throws IOException {
        Path status = Path.of("/proc/" + process.pid() + "/status");
        if (!Files.exists(status)) {
            return -1;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return -1;
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        Files.deleteIfExists(log);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
