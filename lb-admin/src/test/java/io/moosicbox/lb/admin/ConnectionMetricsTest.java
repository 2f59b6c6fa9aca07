package io.moosicbox.lb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One client socket counts once, and its bytes are the bytes on the wire, whatever runs on it (TLS, h2c). */
class ConnectionMetricsTest {
    private static final int MEGABYTE = 1 << 20;

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Server backend;
    private LoadBalancer lb;

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        if (backend != null) {
            backend.stop();
        }
    }

    /** A backend that answers 1 MiB on /big and a few bytes elsewhere. */
    private String startBackend() throws Exception {
        backend = new Server();
        ServerConnector connector = new ServerConnector(backend);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        backend.addConnector(connector);
        backend.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                byte[] body = request.getHttpURI().getPath().equals("/big") ? new byte[MEGABYTE] : "ok\n".getBytes(StandardCharsets.UTF_8);
                response.write(true, ByteBuffer.wrap(body), callback);
                return true;
            }
        });
        backend.start();
        return "http://127.0.0.1:" + connector.getLocalPort();
    }

    private void startBalancer() throws Exception {
        Path key = dir.resolve("key.pem");
        Path cert = dir.resolve("cert.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "1", "-subj", "/CN=localhost")
                .redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl made a certificate");
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "SSL_BIND_ADDRESS", "127.0.0.1:0",
                "SSL_CERT_PATH", cert.toString(),
                "SSL_KEY_PATH", key.toString(),
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "SHUTDOWN_TIMEOUT", "1s",
                "BACKEND_SERVERS", startBackend())));
        AdminApi.install(lb);
        lb.start();
    }

    private long metric(String name, String listener) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.adminPort() + "/metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + name + "\\{listener=\"" + listener + "\"} (\\S+)$").matcher(body);
        assertTrue(m.find(), name + " for " + listener + " in " + body);
        return (long) Double.parseDouble(m.group(1));
    }

    private SSLSocket tls() throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, new SecureRandom());
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", lb.tlsPort());
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

    /** Sends one request on the socket and reads its whole response; returns the bytes read (headers and body). */
    private static long exchange(SSLSocket socket, String path, boolean close) throws Exception {
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        if (close) {
            return in.readAllBytes().length;
        }
        // Keep-alive: read until the small body "ok\n" has arrived.
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().endsWith("\r\n\r\nok\n")) {
            int b = in.read();
            assertTrue(b >= 0, "response ended early: " + seen);
            seen.append((char) b);
        }
        return seen.length();
    }

    private void awaitNoOpen(String listener) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (metric("moosicbox_lb_client_connections", listener) != 0) {
            assertTrue(System.nanoTime() < deadline, "connections of " + listener + " closed");
            Thread.sleep(20);
        }
    }

    @Test
    void aTlsSocketCountsOnceWithItsEncryptedBytes() throws Exception {
        startBalancer();
        String tls = "proxy-tls";
        long opened = metric("moosicbox_lb_client_connections_opened_total", tls);
        for (int i = 0; i < 5; i++) {
            try (SSLSocket s = tls()) {
                exchange(s, "/", true);
            }
        }
        awaitNoOpen(tls);
        assertEquals(opened + 5, metric("moosicbox_lb_client_connections_opened_total", tls));

        List<SSLSocket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                SSLSocket s = tls();
                idle.add(s);
                exchange(s, "/", false);
            }
            assertEquals(4, metric("moosicbox_lb_client_connections", tls));
        } finally {
            for (SSLSocket s : idle) {
                s.close();
            }
        }
        awaitNoOpen(tls);

        long sent = metric("moosicbox_lb_client_sent_bytes_total", tls);
        long received;
        try (SSLSocket s = tls()) {
            received = exchange(s, "/big", true);
        }
        assertTrue(received > MEGABYTE, "the download arrived: " + received);
        awaitNoOpen(tls);
        long onTheWire = metric("moosicbox_lb_client_sent_bytes_total", tls) - sent;
        // TLS adds a handshake and a few dozen bytes per 16 KiB record: a few percent, never double.
        assertTrue(onTheWire > received && onTheWire < received * 1.05, "sent " + onTheWire + " for " + received + " received");
    }

    @Test
    void anH2cUpgradeIsOneConnection() throws Exception {
        startBalancer();
        long opened = metric("moosicbox_lb_client_connections_opened_total", "proxy");
        HttpClient h2c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        try {
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = h2c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.proxyPort() + "/"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                assertEquals(HttpClient.Version.HTTP_2, r.version(), "the client upgraded to h2c");
            }
            assertEquals(opened + 1, metric("moosicbox_lb_client_connections_opened_total", "proxy"));
            assertEquals(1, metric("moosicbox_lb_client_connections", "proxy"));
        } finally {
            h2c.close();
        }
        awaitNoOpen("proxy");
    }
}
