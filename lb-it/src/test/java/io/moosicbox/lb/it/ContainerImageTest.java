package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Builds the image from dist/Dockerfile with podman on a base made offline (a jlink runtime of the
 * build's JDK and a static busybox, dist/local-base-image.sh), then runs it as a user would.
 * Without podman, runc or busybox-static it is skipped with the reason, except in CI (CI=true),
 * where .ci/run installs them and a skip would hide a broken image: there it fails.
 */
class ContainerImageTest {
    private static final String RUN_ID = Long.toString(ProcessHandle.current().pid());
    private static final String BASE_TAG = "localhost/moosicbox-lb-it-base:" + RUN_ID;
    private static final String IMAGE_TAG = "localhost/moosicbox-lb-it:" + RUN_ID;
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private static Path workDir;
    private static Map<String, String> podmanEnv;
    private static final List<String> containers = new ArrayList<>();
    private static boolean imageBuilt;

    @BeforeAll
    static void buildImage() throws Exception {
        Path distModule = Path.of(System.getProperty("lb.dist.module"));
        String missing = missingPrerequisite();
        if (missing != null) {
            if ("true".equals(System.getenv("CI"))) {
                fail("CI must run the container test, but " + missing + " (.ci/run installs podman, runc, busybox-static)");
            }
            Assumptions.abort("container test skipped: " + missing);
        }
        workDir = Files.createDirectories(Path.of(System.getProperty("lb.work.dir"), "podman"));
        // Debian's podman defaults to crun, which fails here, and to ulimits a nested sandbox refuses.
        Path conf = workDir.resolve("containers.conf");
        Files.writeString(conf, "[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = \"runc\"\n");
        podmanEnv = Map.of("CONTAINERS_CONF", conf.toString(),
                "JAVA_HOME", System.getProperty("java.home"), "CONTAINER_TOOL", "podman");

        Result base = run(List.of(distModule.resolve("local-base-image.sh").toString(), BASE_TAG));
        assertEquals(0, base.exit(), "local-base-image.sh failed:\n" + base);
        Result build = run(List.of("podman", "build", "--format", "docker", "--build-arg", "BASE_IMAGE=" + BASE_TAG,
                "--build-arg", "LB_VERSION=" + System.getProperty("lb.version"),
                "-t", IMAGE_TAG, "-f", distModule.resolve("Dockerfile").toString(), distModule.toString()));
        assertEquals(0, build.exit(), "podman build failed:\n" + build);
        imageBuilt = true;
    }

    @AfterAll
    static void removeContainersAndImages() throws Exception {
        if (podmanEnv == null) {
            return;
        }
        for (String name : containers) {
            run(List.of("podman", "rm", "-f", "-t", "0", name));
        }
        run(List.of("podman", "rmi", "-f", IMAGE_TAG, BASE_TAG));
    }

    @Test
    void imageDeclaresPortsUserStopSignalAndHealthCheck() throws Exception {
        Result inspect = podman("image", "inspect", "--format",
                "{{.Config.User}}|{{.Config.StopSignal}}|{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}", IMAGE_TAG);
        assertEquals("10001:10001|SIGTERM|443/tcp 80/tcp 9090/tcp", inspect.output().strip());
        Result health = podman("image", "inspect", "--format", "{{json .HealthCheck}}", IMAGE_TAG);
        assertTrue(health.output().contains("--health-check"), health.output());
    }

    @Test
    void proxiesToAHostBackendAndFinishesInFlightRequestsOnSigterm() throws Exception {
        CountDownLatch slowRequestArrived = new CountDownLatch(1);
        Server backend = startBackend(slowRequestArrived);
        try {
            int backendPort = ((ServerConnector) backend.getConnectors()[0]).getLocalPort();
            int[] ports = Ports.free(2);
            int proxyPort = ports[0];
            int adminPort = ports[1];
            String name = startContainer("--network=host",
                    "-e", "BIND_ADDRESS=127.0.0.1:" + proxyPort,
                    "-e", "ADMIN_BIND_ADDRESS=127.0.0.1:" + adminPort,
                    "-e", "BACKEND_SERVERS=http://127.0.0.1:" + backendPort);
            // HTTP/1.1, as browsers and curl speak plain http (Java's client would try an h2c upgrade).
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(2)).build();
            awaitReady(client, name, URI.create("http://127.0.0.1:" + adminPort + "/ready"));
            HttpResponse<String> proxied = client.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + proxyPort + "/hello")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, proxied.statusCode());
            assertEquals("backend /hello", proxied.body());
            assertEquals(0, podman("healthcheck", "run", name).exit(), "the image's HEALTHCHECK must pass");
            assertEquals("10001", processUid(name), "the balancer must not run as root");

            CompletableFuture<HttpResponse<String>> slow = client.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + proxyPort + "/slow")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(slowRequestArrived.await(10, TimeUnit.SECONDS), "the slow request never reached the backend");
            long stopStart = System.nanoTime();
            Result stop = podman("stop", "-t", "40", name);
            long stopMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopStart);
            assertEquals(0, stop.exit(), stop.toString());
            System.out.println("podman stop (SIGTERM, one request in flight) took " + stopMillis + " ms");

            HttpResponse<String> finished = slow.get(20, TimeUnit.SECONDS);
            assertEquals(200, finished.statusCode(), "an in-flight request must finish after SIGTERM");
            assertEquals("backend /slow", finished.body());
            assertEquals("0", podman("inspect", "--format", "{{.State.ExitCode}}", name).output().strip(),
                    "exit code after SIGTERM; logs:\n" + podman("logs", name));
            assertTrue(stopMillis < 30_000, "stopped within SHUTDOWN_TIMEOUT (30s): " + stopMillis + " ms");
            assertTrue(podman("logs", name).toString().contains("SIGTERM received"));
        } finally {
            backend.stop();
        }
    }

    @Test
    void bindsPort80AsNonRootWithTheUnprivilegedPortSysctl() throws Exception {
        // Its own network namespace (nothing to reach): the image's default listeners 0.0.0.0:80 and
        // 0.0.0.0:9090; a process that cannot bind exits 1, so a passing HEALTHCHECK proves the bind.
        String name = startContainer("--network=none", "--sysctl", "net.ipv4.ip_unprivileged_port_start=0",
                "-e", "BACKEND_SERVERS=127.0.0.1:1");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Result health;
        while ((health = podman("healthcheck", "run", name)).exit() != 0) {
            assertRunning(name);
            if (System.nanoTime() > deadline) {
                fail("HEALTHCHECK never passed: " + health + "\nlogs:\n" + podman("logs", name));
            }
            Thread.sleep(250);
        }
        String logs = podman("logs", name).toString();
        assertTrue(logs.contains("proxy listening on 0.0.0.0:80"), logs);
        assertEquals(0, podman("stop", "-t", "40", name).exit());
        assertEquals("0", podman("inspect", "--format", "{{.State.ExitCode}}", name).output().strip());
    }

    private static String startContainer(String... options) throws Exception {
        String name = "moosicbox-lb-it-" + RUN_ID + "-" + containers.size();
        containers.add(name);
        List<String> command = new ArrayList<>(List.of("podman", "run", "-d", "--name", name));
        command.addAll(List.of(options));
        command.add(IMAGE_TAG);
        Result started = run(command);
        assertEquals(0, started.exit(), "podman run failed:\n" + started);
        return name;
    }

    private static void awaitReady(HttpClient client, String name, URI ready) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (client.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                assertRunning(name);
            }
            Thread.sleep(200);
        }
        fail(ready + " never answered 200; logs:\n" + podman("logs", name));
    }

    private static void assertRunning(String name) throws Exception {
        String state = podman("inspect", "--format", "{{.State.Running}}", name).output().strip();
        if (!state.equals("true")) {
            fail("the container stopped; logs:\n" + podman("logs", name));
        }
    }

    /** The real user id of the container's main process, read from the host's /proc. */
    private static String processUid(String name) throws Exception {
        String pid = podman("inspect", "--format", "{{.State.Pid}}", name).output().strip();
        return Files.readAllLines(Path.of("/proc", pid, "status")).stream()
                .filter(line -> line.startsWith("Uid:"))
                .map(line -> line.split("\\s+")[1])
                .findFirst().orElse("?");
    }

    private static Server startBackend(CountDownLatch slowRequestArrived) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                String path = Request.getPathInContext(request);
                if (path.equals("/slow")) {
                    slowRequestArrived.countDown();
                    Thread.sleep(1500);
                }
                response.setStatus(200);
                response.write(true, java.nio.ByteBuffer.wrap(("backend " + path).getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        server.start();
        return server;
    }


    /** Why the test cannot run here, or null. */
    private static String missingPrerequisite() {
        for (String tool : List.of("podman", "runc")) {
            try {
                Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    return tool + " --version failed";
                }
            } catch (IOException | InterruptedException e) {
                return tool + " is not installed";
            }
        }
        if (!Files.isExecutable(Path.of("/bin/busybox"))) {
            return "/bin/busybox is missing (busybox-static)";
        }
        if (!Files.isExecutable(Path.of(System.getProperty("java.home"), "bin", "jlink"))) {
            return "the build's Java runtime has no jlink";
        }
        return null;
    }

    private static Result podman(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("podman"));
        command.addAll(List.of(args));
        return run(command);
    }

    /** {@code output} is standard output; {@code errors} holds podman's warnings (e.g. no systemd for health timers). */
    private record Result(int exit, String output, String errors) {
        @Override
        public String toString() {
            return output + errors;
        }
    }

    private static Result run(List<String> command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(podmanEnv);
        Path out = Files.createTempFile(workDir, "cmd", ".out");
        Path err = Files.createTempFile(workDir, "cmd", ".err");
        builder.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process process = builder.start();
        if (!process.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " did not finish in " + COMMAND_TIMEOUT);
        }
        try {
            Result result = new Result(process.exitValue(), Files.readString(out), Files.readString(err));
            Files.delete(out);
            Files.delete(err);
            return result;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
