package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.TestBalancer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.AsyncRequestContent;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.HttpClientTransportOverHTTP2;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Requests that are unusual but valid reach the backend whole and as sent, and a failure on the
 * balancer's or the client's side never counts against the backend. The backend records what it
 * got: the method, the path, the Content-Type and the body.
 */
class RequestPassThroughTest {
    private Server backend;
    private LoadBalancer lb;
    private final List<String> seen = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        backend = TestBalancer.serve(new Handler.Abstract() {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response, Callback callback) {
                String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
                Content.Source.asString(request, StandardCharsets.UTF_8, new org.eclipse.jetty.util.Promise<>() {
                    @Override
                    public void succeeded(String body) {
                        seen.add(request.getMethod() + " " + request.getHttpURI().getPathQuery() + " type=" + type + " body=" + body);
                        Content.Sink.write(response, true, "ok", callback);
                    }

                    @Override
                    public void failed(Throwable failure) {
                        callback.failed(failure);
                    }
                });
                return true;
            }
        });
        lb = TestBalancer.start(Duration.ofSeconds(60), TestBalancer.cluster("round_robin", PoolSettings.defaults(), TestBalancer.url(backend)));
    }

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        if (backend != null) {
            backend.stop();
        }
    }

    private Backend theBackend() {
        return TestBalancer.only(lb).backends().getFirst();
    }

    @Test
    void headersLargerThanJettysClientDefaultPassAndNeverEjectTheBackend() throws Exception {
        String cookie = "a".repeat(20 * 1024);
        for (int i = 0; i < 6; i++) {
            String answer = ask("GET /big HTTP/1.1\r\nHost: x\r\nCookie: c=" + cookie + "\r\nConnection: close\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 200 "), answer.substring(0, Math.min(200, answer.length())));
        }
        assertEquals(6, seen.size());
        assertEquals(BackendState.UP, theBackend().state());
    }

    @Test
    void anHttp2BodyWithoutLengthOrTypeReachesTheBackendWhole() throws Exception {
        HttpClient h2 = new HttpClient(new HttpClientTransportOverHTTP2(new HTTP2Client()));
        h2.setDefaultRequestContentType(null);
        h2.start();
        try {
            AsyncRequestContent body = new AsyncRequestContent((String) null);
            var pending = new org.eclipse.jetty.client.CompletableResponseListener(
                    h2.newRequest("127.0.0.1", lb.proxyPort()).method("PUT").path("/upload").body(body).timeout(10, TimeUnit.SECONDS)).send();
            body.write(ByteBuffer.wrap("hello ".getBytes(StandardCharsets.UTF_8)), Callback.NOOP);
            body.write(ByteBuffer.wrap("over h2".getBytes(StandardCharsets.UTF_8)), Callback.NOOP);
            body.close();
            ContentResponse response = pending.get(10, TimeUnit.SECONDS);
            assertEquals(200, response.getStatus());
            assertEquals(List.of("PUT /upload type=null body=hello over h2"), seen);

            // A request whose headers end the stream has no body, and the backend gets none.
            seen.clear();
            assertEquals(200, h2.newRequest("127.0.0.1", lb.proxyPort()).path("/plain").timeout(10, TimeUnit.SECONDS).send().getStatus());
            assertEquals(List.of("GET /plain type=null body="), seen);
        } finally {
            h2.stop();
        }
    }

    @Test
    void targetsThatJavaNetUriRefusesAreForwardedAsSent() throws Exception {
        for (String target : List.of("/x?q=a|b{c}", "/x?q={\"a\":1}", "/x?q=a^b", "/x?q=%41%c3%a9")) {
            seen.clear();
            String answer = ask("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 200 "), target + ": " + answer);
            assertEquals(List.of("GET " + target + " type=null body="), seen);
        }
        // A lone % cannot be sent by Jetty's client: the client's 400, not a backend failure.
        seen.clear();
        String lone = ask("GET /x?q=100% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(lone.startsWith("HTTP/1.1 400 "), lone);
        assertEquals(List.of(), seen);
        assertEquals(null, theBackend().lastError());
        // Raw UTF-8 goes out percent-encoded, not as ISO-8859-1.
        seen.clear();
        byte[] utf8 = "GET /x?q=caf\u00e9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(utf8);
            s.getInputStream().readAllBytes();
        }
        assertEquals(List.of("GET /x?q=caf%C3%A9 type=null body="), seen);
    }

    @Test
    void aBodyWithoutContentTypeGetsNoneMadeUp() throws Exception {
        String answer = ask("POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
        assertEquals(List.of("POST /form type=null body=hello"), seen);
    }

    @Test
    void connectAndCodingsOtherThanChunkedAre501AndReachNoBackend() throws Exception {
        String connect = ask("CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n\r\n");
        assertTrue(connect.startsWith("HTTP/1.1 501 "), connect);
        String gzip = ask("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n1\r\na\r\n0\r\n\r\n");
        assertTrue(gzip.startsWith("HTTP/1.1 501 "), gzip);
        assertEquals(List.of(), seen);
    }

    @Test
    void aBrokenChunkedBodyIsTheClientsFaultNotTheBackends() throws Exception {
        String answer = ask("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nzz\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
        assertEquals(null, theBackend().lastError(), "the backend did nothing wrong");
        assertEquals(BackendState.UP, theBackend().state());
    }

    /** Sends the bytes, then reads until the balancer closes the connection. */
    private String ask(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            // Nothing more comes: a server that would keep the connection open sees the end now.
            s.shutdownOutput();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            try {
                s.getInputStream().transferTo(all);
            } catch (IOException e) {
                // reset after the answer
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
