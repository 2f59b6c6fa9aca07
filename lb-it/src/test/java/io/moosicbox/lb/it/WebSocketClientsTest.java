package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** WebSocket sessions through the packaged balancer, with Jetty's client and Python's websockets. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WebSocketClientsTest {
    private static PatternBackend backend;
    private static LbProcess lb;
    private static Path accessLog;

    @BeforeAll
    static void start() throws Exception {
        backend = new PatternBackend();
        accessLog = Files.createTempFile(Files.createDirectories(Path.of("target", "lb-runs")), "ws-access-", ".log").toAbsolutePath();
        lb = LbProcess.launch(Map.of("BACKEND_SERVERS", backend.url(), "JAVA_OPTS", "-Xms64m -Xmx128m",
                "ACCESS_LOG", accessLog.toString()));
        lb.awaitListening(java.time.Duration.ofSeconds(90));
    }

    @AfterAll
    static void stop() throws Exception {
        if (lb != null) {
            lb.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void jettyClientEchoesThroughThePackagedBalancer() throws Exception {
        WebSocketClient client = new WebSocketClient();
        client.setMaxBinaryMessageSize(16L << 20);
        client.start();
        try {
            Recorder recorder = new Recorder();
            ClientUpgradeRequest request = new ClientUpgradeRequest();
            request.setSubProtocols("moosicbox.v2");
            Session session = client.connect(recorder, URI.create("ws://127.0.0.1:" + lb.proxyPort() + "/ws"), request)
                    .get(10, TimeUnit.SECONDS);
            assertEquals("moosicbox.v2", session.getUpgradeResponse().getAcceptedSubProtocol());
            session.sendText("hello", Callback.NOOP);
            assertEquals("hello", recorder.messages.poll(10, TimeUnit.SECONDS));
            // An operator draining the backend sees the session apart from the requests in flight.
            Await.until("the session in /api/backends", () -> admin("/api/backends").contains("\"inflight\":1,\"websocket_sessions\":1,"));
            byte[] big = new byte[8 << 20];
            new Random(7).nextBytes(big);
            session.sendBinary(ByteBuffer.wrap(big), Callback.NOOP);
            assertArrayEquals(big, (byte[]) recorder.messages.poll(20, TimeUnit.SECONDS));
            session.close(4100, "jetty bye", Callback.NOOP);
            assertEquals("4100 jetty bye", backend.closes.poll(10, TimeUnit.SECONDS));
            assertEquals("4100 jetty bye", recorder.closed.get(10, TimeUnit.SECONDS));

            // Logged once, at its end, as nginx and HAProxy log a session: the 101 with the bytes the client got.
            String line = "\"GET /ws HTTP/1.1\" 101 " + (5 + big.length) + " ";
            Await.until("the session's access log line", () -> read(accessLog).contains(line));
            assertTrue(read(accessLog).lines().filter(l -> l.contains(line)).allMatch(l -> l.contains(" end=complete")), read(accessLog));
            Await.until("the session counted as ended", () -> admin("/metrics").lines().anyMatch(l ->
                    l.startsWith("moosicbox_lb_websocket_sessions_ended_total{") && l.contains("end=\"complete\"") && !l.endsWith(" 0.0")));
        } finally {
            client.stop();
        }
    }

    private static String admin(String path) {
        try {
            return Curl.run(lb.adminUrl() + path).body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void pythonWebsocketsClientEchoesThroughThePackagedBalancer() throws Exception {
        String python = pythonWithWebsockets();
        Path script = Files.createTempFile("ws_client", ".py");
        try (var in = WebSocketClientsTest.class.getResourceAsStream("ws_client.py")) {
            Files.write(script, in.readAllBytes());
        }
        try {
            Process p = new ProcessBuilder(python, script.toString(), "ws://127.0.0.1:" + lb.proxyPort() + "/ws")
                    .redirectErrorStream(true).start();
            boolean finished = p.waitFor(60, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly();
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(finished, "the Python client did not finish in 60 s:\n" + out);
            assertEquals(0, p.exitValue(), "the Python client failed:\n" + out);
            assertTrue(out.contains("binary echo ok 4194304"), out);
            assertTrue(out.contains("closed 4000 python bye"), out);
            assertEquals("4000 python bye", backend.closes.poll(10, TimeUnit.SECONDS));
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /**
     * Debian's python3-websockets (installed by .ci/run). Missing in CI is a failure; elsewhere
     * the test is skipped with the reason.
     */
    private static String pythonWithWebsockets() throws InterruptedException {
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            try {
                Process p = new ProcessBuilder(candidate, "-c", "import websockets").redirectErrorStream(true).start();
                if (p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return candidate;
                }
                p.destroyForcibly();
            } catch (IOException notThere) {
                // try the next one
            }
        }
        String reason = "no python3 with the websockets module (apt-get install python3-websockets)";
        if (System.getenv("CI") != null) {
            throw new AssertionError(reason);
        }
        Assumptions.abort(reason);
        return null;
    }

    public static final class Recorder implements Session.Listener.AutoDemanding {
        final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
        final CompletableFuture<String> closed = new CompletableFuture<>();

        @Override
        public void onWebSocketText(String message) {
            messages.add(message);
        }

        @Override
        public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
            byte[] copy = new byte[payload.remaining()];
            payload.get(copy);
            messages.add(copy);
            callback.succeed();
        }

        @Override
        public void onWebSocketClose(int code, String reason) {
            closed.complete(code + " " + reason);
        }
    }
}
