package io.moosicbox.lb.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HealthCheckTest {
    private final AtomicInteger status = new AtomicInteger(200);
    private HttpServer admin;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeEach
    void startAdmin() throws Exception {
        admin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        admin.createContext("/health", exchange -> {
            byte[] body = "{\"status\":\"UP\"}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status.get(), body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        admin.start();
    }

    @AfterEach
    void stopAdmin() {
        admin.stop(0);
    }

    @Test
    void healthyWhenTheAdminListenerAnswers200() {
        assertEquals(0, check(Map.of("ADMIN_BIND_ADDRESS", "0.0.0.0:" + admin.getAddress().getPort())));
        assertTrue(out.toString().contains("{\"status\":\"UP\"}"), out.toString());
    }

    @Test
    void unhealthyOnAnotherStatusOrNoListener() throws Exception {
        status.set(503);
        assertEquals(1, check(Map.of("ADMIN_BIND_ADDRESS", "127.0.0.1:" + admin.getAddress().getPort())));
        assertTrue(err.toString().contains("HTTP 503"), err.toString());
        // Bound and never listening: refused, and no other socket can take the port meanwhile.
        try (Socket closed = new Socket()) {
            closed.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            assertEquals(1, check(Map.of("ADMIN_BIND_ADDRESS", "127.0.0.1:" + closed.getLocalPort())));
        }
    }

    @Test
    void aBadAddressIsAConfigurationError() {
        assertEquals(2, check(Map.of("ADMIN_BIND_ADDRESS", "nonsense")));
        assertTrue(err.toString().startsWith("moosicbox_lb --health-check: ADMIN_BIND_ADDRESS=\"nonsense\": expected host:port"),
                err.toString());
    }

    /** Set but empty is the default, as for the balancer itself, which then listens on 127.0.0.1:9090. */
    @Test
    void anEmptyAddressIsTheDefault() {
        assertEquals("http://127.0.0.1:9090/health", HealthCheck.healthUrl("127.0.0.1:9090").toString());
        int code = check(Map.of("ADMIN_BIND_ADDRESS", ""));
        assertTrue(code == 0 || code == 1, "not a configuration error: " + code + " " + err);
        assertTrue(code == 0 || err.toString().startsWith("http://127.0.0.1:9090/health: "), err.toString());
    }

    @Test
    void aRefusedConnectionSaysSo() throws Exception {
        try (Socket closed = new Socket()) {
            closed.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            assertEquals(1, check(Map.of("ADMIN_BIND_ADDRESS", "127.0.0.1:" + closed.getLocalPort())));
            assertEquals("http://127.0.0.1:" + closed.getLocalPort() + "/health: connection refused "
                    + "(is the balancer running, with its admin listener there?)", err.toString().strip());
        }
    }

    @Test
    void aUrlThatIsNoHttpUrlIsAConfigurationError() {
        for (String bad : new String[] {"notaurl", "ftp://127.0.0.1/health", "http:///health"}) {
            assertEquals(2, HealthCheck.run(new String[] {bad}, Map.of(), new PrintStream(out, true), new PrintStream(err, true)), bad);
            assertTrue(err.toString().contains("'" + bad + "' is not an http:// or https:// URL"), err.toString());
        }
    }

    @Test
    void anArgumentAfterTheUrlIsAnError() {
        String url = "http://127.0.0.1:" + admin.getAddress().getPort() + "/health";
        assertEquals(2, HealthCheck.run(new String[] {url, "--verbose"}, Map.of(), new PrintStream(out, true), new PrintStream(err, true)));
        assertEquals("moosicbox_lb --health-check: unexpected '--verbose' after the URL; usage: --health-check [URL]", err.toString().strip());
    }

    @Test
    void wildcardListenAddressesMeanThisHost() {
        assertEquals("http://127.0.0.1:9090/health", HealthCheck.healthUrl("0.0.0.0:9090").toString());
        assertEquals("http://[::1]:9090/health", HealthCheck.healthUrl("[::]:9090").toString());
        assertEquals("http://lb.internal:9091/health", HealthCheck.healthUrl("lb.internal:9091").toString());
    }

    private int check(Map<String, String> env) {
        return HealthCheck.run(new String[0], env, new PrintStream(out, true), new PrintStream(err, true));
    }
}
