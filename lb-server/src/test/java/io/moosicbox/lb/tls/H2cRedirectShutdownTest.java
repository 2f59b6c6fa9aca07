package io.moosicbox.lb.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.eclipse.jetty.http2.SessionContainer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plain-HTTP request with {@code Upgrade: h2c} that the HTTPS redirect answers at once, on the
 * upgraded HTTP/2 connection: Jetty serves it while the connection is still being opened, and a
 * client quick enough to hang up before that is over once left a closed session in the h2c
 * factory's session container, which the next graceful stop waited for until its timeout.
 */
class H2cRedirectShutdownTest {
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);
    /** HTTP2-Settings of an upgrade request (curl's): max streams 100, window 32 MiB, no push. */
    private static final String SETTINGS = "AAMAAABkAAQCAAAAAAIAAAAA";
    /** The client connection preface, then an empty SETTINGS frame. */
    private static final byte[] PREFACE = concat("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});

    @TempDir
    Path dir;
    private EchoBackend backend;
    private LoadBalancer lb;

    @BeforeAll
    static void tools() {
        Tools.require("openssl");
        Tools.require("curl");
    }

    @AfterEach
    void close() throws Exception {
        if (lb != null && lb.server().isStarted()) {
            lb.server().setStopTimeout(0);
            lb.server().stop();
        }
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void anH2cUpgradeAnsweredByTheRedirectDoesNotHoldUpTheGracefulStop() throws Exception {
        backend = new EchoBackend();
        TestCerts.Pair pair = TestCerts.selfSigned(dir, "a.test", TestCerts.KeyForm.EC_SEC1);
        Map<String, String> env = new HashMap<>(Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "SSL_BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "BACKEND_SERVERS", backend.url(),
                "SSL_CERT_PATH", pair.cert().toString(),
                "SSL_KEY_PATH", pair.key().toString(),
                "SSL_REDIRECT_HTTP", "true",
                "SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUT.toSeconds() + "s"));
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), env));
        lb.start();

        // curl --http2 on http:// sends Upgrade: h2c; the 308 comes back over the upgraded connection.
        String curl = Tools.ok(null, "curl", "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version} %{redirect_url}",
                "http://127.0.0.1:" + lb.proxyPort() + "/x?y=1");
        assertEquals("308 2 https://127.0.0.1:" + lb.tlsPort() + "/x?y=1", curl);
        // The same, with the preface and the client's end of output already there when the upgrade is read:
        // the connection always closes before Jetty is done opening it.
        String raw = upgradeAndHangUp();
        assertTrue(raw.startsWith("HTTP/1.1 101 "), raw);

        TestBalancer.await("both connections closed", Duration.ofSeconds(5), () -> Arrays.stream(lb.server().getConnectors())
                .allMatch(c -> c.getConnectedEndPoints().isEmpty()));
        String sessions = lb.server().getContainedBeans(SessionContainer.class).toString();
        long begun = System.nanoTime();
        lb.stop();
        Duration took = Duration.ofNanos(System.nanoTime() - begun);
        assertTrue(took.compareTo(Duration.ofSeconds(3)) < 0, "the graceful stop took " + took.toMillis() + " ms of its "
                + SHUTDOWN_TIMEOUT.toMillis() + " ms timeout; HTTP/2 sessions held with no connection open: " + sessions);
    }

    /** Sends an h2c upgrade request, the HTTP/2 preface and the end of output in one go; returns what came back. */
    private String upgradeAndHangUp() throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()));
            socket.setSoTimeout(10_000);
            String request = "GET /raw HTTP/1.1\r\nHost: 127.0.0.1:" + lb.proxyPort() + "\r\n"
                    + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: " + SETTINGS + "\r\n\r\n";
            OutputStream out = socket.getOutputStream();
            out.write(concat(request.getBytes(StandardCharsets.US_ASCII), PREFACE));
            out.flush();
            socket.shutdownOutput();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            try {
                in.transferTo(all);
            } catch (SocketException reset) {
                // closed by the balancer: what came before is enough
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = new byte[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
