package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.TestBalancer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 sends every header name in lower case (RFC 9113 8.2.2); toward an HTTP/1.1 backend the
 * balancer writes the names it knows as HTTP/1.1 spells them ("User-Agent"), through Jetty's
 * client or direct alike, and the others as they came. The backend here is a raw socket that
 * records the request head byte for byte.
 */
class Http2HeaderNamesTest {
    private final List<String> heads = new CopyOnWriteArrayList<>();
    private ServerSocket backend;
    private LoadBalancer lb;
    private HTTP2Client h2;

    @BeforeEach
    void start() throws Exception {
        backend = TestBalancer.rawBackend(this::serve);
        lb = TestBalancer.start(Duration.ofSeconds(10), TestBalancer.cluster("round_robin", PoolSettings.defaults(),
                "http://127.0.0.1:" + backend.getLocalPort()));
        h2 = new HTTP2Client();
        h2.start();
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            for (String head; !(head = readHead(in)).isEmpty(); ) {
                heads.add(head);
                s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
            }
        } catch (IOException e) {
            // the balancer closed the connection
        }
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        for (int c; (c = in.read()) >= 0; ) {
            head.append((char) c);
            if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                return head.toString();
            }
        }
        return "";
    }

    @AfterEach
    void stop() throws Exception {
        if (h2 != null) {
            h2.stop();
        }
        if (lb != null) {
            lb.stop();
        }
        backend.close();
    }

    @Test
    void knownHeaderNamesReachAnHttp11BackendSpelledAsHttp11SpellsThem() throws Exception {
        Session session = h2.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()), new Session.Listener() {})
                .get(5, TimeUnit.SECONDS);
        HttpFields fields = HttpFields.build().put(HttpHeader.USER_AGENT, "player/1").put(HttpHeader.ACCEPT, "audio/flac")
                .put("x-custom", "c");
        MetaData.Request request = new MetaData.Request("GET", HttpURI.from("http://127.0.0.1:" + lb.proxyPort() + "/track"),
                HttpVersion.HTTP_2, fields);
        assertEquals(200, TestBalancer.http2Status(session, request).get(10, TimeUnit.SECONDS));
        assertEquals(1, heads.size());
        String head = heads.getFirst();
        assertTrue(head.contains("\r\nUser-Agent: player/1\r\n"), head);
        assertTrue(head.contains("\r\nAccept: audio/flac\r\n"), head);
        assertTrue(head.contains("\r\nx-custom: c\r\n"), head);
    }
}
