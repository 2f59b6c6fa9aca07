package io.moosicbox.lb.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The slow-reader second look (Http1ConnectionFactory.stillReading) on both HTTP/1.1 listeners,
 * plain and TLS, with IDLE_TIMEOUT=2s: a client that reads slowly but steadily keeps its
 * download, and one that stops reading (its socket buffers full) is still cut at IDLE_TIMEOUT,
 * not later and not never. PausedClientTest closes its paused clients itself, so it would not see
 * a paused client kept for ever.
 */
class SlowAndPausedReadersTest {
    private static final int BLOCK = 64 * 1024;
    private static final int BLOCKS = 1024;

    @TempDir
    static Path dir;
    private static TestCerts.Pair cert;
    private Server backend;
    private LoadBalancer lb;
    private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void certificate() throws Exception {
        Tools.require("openssl");
        cert = TestCerts.selfSigned(dir, "music.example.com", TestCerts.KeyForm.EC_PKCS8);
    }

    @BeforeEach
    void start() throws Exception {
        // 64 MiB, written as fast as the balancer takes it: far more than the socket buffers hold.
        backend = TestBalancer.serve(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                TestBalancer.writeBlocks(response, callback, BLOCKS, BLOCK);
                return true;
            }
        });
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "SSL_BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "BACKEND_SERVERS", TestBalancer.url(backend),
                // 2 s, not less: a loaded CI machine delays a cut by a few hundred ms, and the
                // paused-client bound must still tell that from a third IDLE_TIMEOUT.
                "IDLE_TIMEOUT", "2s",
                "SSL_CERT_PATH", cert.cert().toString(),
                "SSL_KEY_PATH", cert.key().toString())));
        lb.start();
        lb.setExchangeListener(exchanges::add);
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

    @Test
    void aPausedPlainClientIsCutAtIdleTimeout() throws Exception {
        assertPausedClientIsCut(false);
    }

    @Test
    void aPausedTlsClientIsCutAtIdleTimeout() throws Exception {
        assertPausedClientIsCut(true);
    }

    @Test
    void aSlowButSteadyTlsClientIsNotCut() throws Exception {
        try (Socket s = open(true)) {
            InputStream in = s.getInputStream();
            byte[] buffer = new byte[15_000];
            long read = 0;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            while (System.nanoTime() < end) {
                // 15 kB every 50 ms: 300 kB/s, the rate of a lossless stream; four times IDLE_TIMEOUT.
                int n = in.readNBytes(buffer, 0, buffer.length);
                assertEquals(buffer.length, n, "the stream ended after " + read + " bytes");
                read += n;
                Thread.sleep(50);
            }
            assertTrue(read > 1_000_000, "read " + read);
            assertTrue(exchanges.isEmpty(), "cut while reading: " + exchanges);
        }
        assertEquals(List.of(Exchange.End.CLIENT), ends(1));
        assertEquals(0, TestBalancer.only(lb).backends().getFirst().failures());
    }

    /**
     * Reads the start of the download and then nothing, keeping the connection open: the balancer
     * must end the exchange itself. The first IDLE_TIMEOUT may find room that the client's last
     * read freed, which is progress, so the cut comes one or two IDLE_TIMEOUTs after the pause
     * (measured 1.9 s at 1 s, 4.0 s at 2 s); without a cut it would wait for ever, and a retried
     * write that took a paused client for a reader again and again would push it past both.
     */
    private void assertPausedClientIsCut(boolean tls) throws Exception {
        try (Socket s = open(tls)) {
            InputStream in = s.getInputStream();
            assertTrue(in.read(new byte[4096]) > 0, "the stream began");
            long paused = System.nanoTime();
            TestBalancer.await("the paused client cut", Duration.ofSeconds(10), () -> !exchanges.isEmpty());
            long ms = (System.nanoTime() - paused) / 1_000_000;
            assertTrue(ms >= 1800 && ms < 5500, "cut " + ms + " ms after the pause, IDLE_TIMEOUT is 2000");
        }
        assertEquals(List.of(Exchange.End.CLIENT), ends(1));
        assertEquals(0, TestBalancer.only(lb).backends().getFirst().failures(), "a paused client is not the backend's failure");
    }

    private Socket open(boolean tls) throws Exception {
        Socket plain = new Socket();
        plain.setReceiveBufferSize(64 * 1024);
        plain.connect(new InetSocketAddress("127.0.0.1", tls ? lb.tlsPort() : lb.proxyPort()));
        plain.setSoTimeout(5000);
        Socket s = plain;
        if (tls) {
            SSLContext context = TestCerts.trustAll();
            SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(plain, "music.example.com", plain.getPort(), true);
            ssl.startHandshake();
            s = ssl;
        }
        s.getOutputStream().write("GET /track.flac HTTP/1.1\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return s;
    }

    private List<Exchange.End> ends(int count) throws InterruptedException {
        TestBalancer.awaitIdle(lb);
        TestBalancer.await(count + " reports", Duration.ofSeconds(5), () -> exchanges.size() >= count);
        return exchanges.stream().map(Exchange::end).toList();
    }
}
