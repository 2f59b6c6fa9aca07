package io.moosicbox.lb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.ListenerLimits;
import io.moosicbox.lb.discovery.HostResolver;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Requests the listener refuses before the proxy (limits, rate limiter) are counted and logged like any answer. */
class RefusalMetricsTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private TestBackend backend;
    private LoadBalancer lb;

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        if (backend != null) {
            backend.close();
        }
    }

    /** One request on its own connection; returns the status line. */
    private String send(String head) throws Exception {
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            for (int b = in.read(); b >= 0 && b != '\r'; b = in.read()) {
                line.append((char) b);
            }
            return line.toString();
        }
    }

    private static long value(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " "))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(series.length() + 1))).findFirst().orElse(-1);
    }

    private static String get(String target, String... headers) {
        return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + String.join("", headers) + "\r\n";
    }

    @Test
    void refusalsBeforeTheProxyAreCountedAndLogged(@TempDir Path dir) throws Exception {
        backend = new TestBackend("one");
        Path log = dir.resolve("access.log");
        var config = EnvConfig.load(EnvConfig.defaults(), Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "SHUTDOWN_TIMEOUT", "1s",
                "ACCESS_LOG", log.toString(),
                "ACCESS_LOG_FORMAT", "json",
                "BACKEND_SERVERS", "http://" + backend.address()));
        // 1 KiB bodies at most; 5 requests per second per client address.
        lb = new LoadBalancer(config, HostResolver.system(), new ListenerLimits(1024, 100, 5));
        AdminApi.install(lb);
        lb.start();

        assertTrue(send(get("/" + "a".repeat(9000))).contains(" 414"));
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            many.add("X-H" + i + ": v\r\n");
        }
        assertTrue(send(get("/", many.toArray(String[]::new))).contains(" 431"));
        assertTrue(send("POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
                .contains(" 501"));
        assertTrue(send("POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 5000\r\n\r\n").contains(" 413"));
        int throttled = 0;
        for (int i = 0; i < 30; i++) {
            if (send(get("/")).contains(" 429")) {
                throttled++;
            }
        }
        assertTrue(throttled > 0, "the rate limiter answered 429");

        String m = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        // 414, 431 and the 429s for GET; 413 for POST; 501 for POST.
        assertEquals(2 + throttled, value(m, "moosicbox_lb_requests_total{backend=\"\",cluster=\"\",code=\"4xx\",method=\"GET\"}"), m);
        assertEquals(1, value(m, "moosicbox_lb_requests_total{backend=\"\",cluster=\"\",code=\"4xx\",method=\"POST\"}"), m);
        assertEquals(1, value(m, "moosicbox_lb_requests_total{backend=\"\",cluster=\"\",code=\"5xx\",method=\"POST\"}"), m);

        List<Integer> logged = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            logged.clear();
            for (String line : Files.exists(log) ? Files.readAllLines(log) : List.<String>of()) {
                JsonNode entry = Json.MAPPER.readTree(line);
                logged.add(entry.get("status").asInt());
            }
            if (logged.size() >= 34) {
                break;
            }
            Thread.sleep(50);
        }
        for (int status : new int[] {414, 431, 501, 413, 429}) {
            assertTrue(logged.contains(status), status + " in the access log: " + logged);
        }
        assertEquals(4 + 30, logged.size(), logged.toString());
    }
}
