package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A player paused in the middle of a track stops reading; its connection goes silent and is cut
 * at IDLE_TIMEOUT. That is the client's doing: counted against the backend, a few paused players
 * would take a healthy server out of rotation.
 */
class PausedClientTest {
    private static final int BLOCK = 64 * 1024;
    private static final int BLOCKS = 1024;
    private static final long SMALL = 64 * 1024;

    private Server backend;
    private LoadBalancer lb;
    private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        if (backend != null) {
            backend.stop();
        }
    }

    @BeforeEach
    void start() throws Exception {
        // 64 MiB, written as fast as the balancer takes it: far more than the socket buffers hold.
        backend = TestBalancer.serve(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                if (request.getHttpURI().getPath().equals("/tail")) {
                    // A little more than an HTTP/2 stream window.
                    response.getHeaders().put("Content-Length", 70_000L);
                    response.write(true, ByteBuffer.allocate(70_000), callback);
                    return true;
                }
                if (request.getHttpURI().getPath().equals("/silent")) {
                    // A backend that hangs in the middle of a body (a transcode stuck): longer than IDLE_TIMEOUT.
                    response.getHeaders().put("Content-Length", 1L << 20);
                    Thread.ofVirtual().start(() -> {
                        try {
                            try (Blocker.Callback written = Blocker.callback()) {
                                response.write(false, ByteBuffer.allocate(BLOCK), written);
                                written.block();
                            }
                            Thread.sleep(3000);
                            callback.failed(new java.io.IOException("gave up"));
                        } catch (Throwable t) {
                            callback.failed(t);
                        }
                    });
                    return true;
                }
                if (request.getHttpURI().getPath().equals("/small")) {
                    // The end comes a moment after the rest, in a write of its own.
                    response.getHeaders().put("Content-Length", SMALL);
                    Thread.ofVirtual().start(() -> {
                        try {
                            try (Blocker.Callback written = Blocker.callback()) {
                                response.write(false, ByteBuffer.allocate((int) SMALL - 100), written);
                                written.block();
                            }
                            Thread.sleep(5);
                            response.write(true, ByteBuffer.allocate(100), callback);
                        } catch (Throwable t) {
                            callback.failed(t);
                        }
                    });
                    return true;
                }
                TestBalancer.writeBlocks(response, callback, BLOCKS, BLOCK);
                return true;
            }
        });
        LbConfig defaults = EnvConfig.defaults();
        lb = new LoadBalancer(new LbConfig(
                new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                defaults.tls(), List.of(TestBalancer.cluster("round_robin", PoolSettings.defaults(), TestBalancer.url(backend))),
                new LbConfig.Timeouts(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(5)),
                new LbConfig.ShutdownConfig(Duration.ofSeconds(1), Duration.ZERO),
                defaults.admin(), "info"));
        lb.start();
        lb.setExchangeListener(exchanges::add);
    }

    @Test
    void anHttp11ClientThatStopsReadingIsNotTheBackendsFailure() throws Exception {
        // More pauses than passive health takes to eject a backend.
        for (int n = 0; n < 3; n++) {
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(16 * 1024);
                s.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()));
                s.setSoTimeout(5000);
                s.getOutputStream().write("GET /track.flac HTTP/1.1\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                assertTrue(in.read(new byte[4096]) > 0, "the stream began");
                // Paused for longer than IDLE_TIMEOUT (1 s): the balancer cuts the stream.
                Thread.sleep(2500);
            }
        }
        assertNotTheBackends();
    }

    /**
     * A player that reads at its playback rate never stops, but the kernel wakes the balancer's
     * blocked write only once a third of the send buffer (up to 4 MiB) has drained: at 300 KB/s
     * that is seconds of no progress as Jetty sees it, longer than IDLE_TIMEOUT (1 s here), and such
     * a player was cut after a second. It reads on for four times IDLE_TIMEOUT here.
     */
    @Test
    void anHttp11ClientThatReadsSlowlyButSteadilyIsNotCut() throws Exception {
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * 1024);
            s.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()));
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET /track.flac HTTP/1.1\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            byte[] buffer = new byte[15_000];
            long read = 0;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
            while (System.nanoTime() < end) {
                // 15 kB every 50 ms: 300 kB/s, the rate of a lossless stream.
                int n = in.readNBytes(buffer, 0, buffer.length);
                assertEquals(buffer.length, n, "the stream ended after " + read + " bytes");
                read += n;
                Thread.sleep(50);
            }
            assertTrue(read > 1_000_000, "read " + read);
        }
        assertEquals(List.of(Exchange.End.CLIENT), ends(1), "cut only when the client hung up");
        assertEquals(0, TestBalancer.only(lb).backends().getFirst().failures());
    }

    @Test
    void anHttp2StreamThatStopsReadingIsNotTheBackendsFailure() throws Exception {
        for (int n = 0; n < 3; n++) {
            pauseHttp2("/track.flac");
        }
        assertNotTheBackends();
    }

    /** A new HTTP/2 connection to the proxy with one GET of {@code path}, answered to {@code listener}. */
    private Session get(HTTP2Client h2, String path, Stream.Listener listener) throws Exception {
        Session session = h2.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()), new Session.Listener() {})
                .get(5, TimeUnit.SECONDS);
        MetaData.Request request = new MetaData.Request("GET",
                HttpURI.from("http://music.example.com:" + lb.proxyPort() + path), HttpVersion.HTTP_2, HttpFields.EMPTY);
        session.newStream(new HeadersFrame(request, null, true), listener);
        return session;
    }

    /**
     * An HTTP/2 stream that never reads its data: no WINDOW_UPDATE, so the balancer's writes stop
     * when the stream's window (65,535 bytes) is full; closed after longer than IDLE_TIMEOUT.
     */
    private void pauseHttp2(String path) throws Exception {
        HTTP2Client h2 = new HTTP2Client();
        h2.setInitialStreamRecvWindow(65_535);
        h2.start();
        try {
            CompletableFuture<Integer> status = new CompletableFuture<>();
            Session session = get(h2, path, new Stream.Listener() {
                @Override
                public void onHeaders(Stream stream, HeadersFrame frame) {
                    status.complete(((MetaData.Response) frame.getMetaData()).getStatus());
                }
            });
            assertEquals(200, status.get(5, TimeUnit.SECONDS), "the stream began");
            Thread.sleep(2500);
            session.close(0, "done", Callback.NOOP);
        } finally {
            h2.stop();
        }
    }

    /**
     * A player that seeks over HTTP/2 cancels its stream (RST_STREAM) in the middle of the body:
     * the balancer closes the backend's connection for it, which must not come back as the
     * backend's failure (an EOF in the middle of a body counts against the backend).
     */
    @Test
    void anHttp2StreamCancelledMidBodyIsNotTheBackendsFailure() throws Exception {
        HTTP2Client h2 = new HTTP2Client();
        h2.start();
        try {
            for (int n = 0; n < 3; n++) {
                CompletableFuture<Stream> midBody = new CompletableFuture<>();
                Session session = get(h2, "/track.flac", new Stream.Listener() {
                    private long bytes;

                    @Override
                    public void onHeaders(Stream stream, HeadersFrame frame) {
                        stream.demand();
                    }

                    @Override
                    public void onDataAvailable(Stream stream) {
                        Stream.Data data = stream.readData();
                        if (data != null) {
                            bytes += data.frame().remaining();
                            data.release();
                        }
                        if (bytes > 1_000_000) {
                            midBody.complete(stream);
                        } else {
                            stream.demand();
                        }
                    }
                });
                Stream stream = midBody.get(5, TimeUnit.SECONDS);
                stream.reset(new org.eclipse.jetty.http2.frames.ResetFrame(stream.getId(),
                        org.eclipse.jetty.http2.ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
                int reported = n + 1;
                TestBalancer.await("the cancelled stream reported", Duration.ofSeconds(5), () -> exchanges.size() >= reported);
                session.close(0, "done", Callback.NOOP);
            }
        } finally {
            h2.stop();
        }
        assertNotTheBackends();
        assertEquals(null, TestBalancer.only(lb).backends().getFirst().lastError());
    }

    /**
     * The other way round: the client reads, the backend goes silent. The client's connection is
     * idle for as long as the backend's, and whichever timeout fires first, it is the backend's failure.
     */
    @Test
    void aBackendThatGoesSilentMidBodyIsTheBackendsFailure() throws Exception {
        for (int n = 0; n < 3; n++) {
            try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("GET /silent HTTP/1.1\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                try {
                    while (in.read(new byte[8192]) >= 0) {
                        // reading all the time, as a player with room in its buffer does
                    }
                } catch (java.net.SocketException reset) {
                    // the cut
                }
            }
        }
        Backend server = TestBalancer.only(lb).backends().getFirst();
        assertEquals(java.util.Collections.nCopies(3, Exchange.End.BACKEND), ends(3));
        assertEquals(3, server.failures(), "the silent backend's failures");
        assertTrue(server.lastError() != null && server.lastError().startsWith("TimeoutException"),
                "the admin API's last_error says why: " + server.lastError());
    }

    /**
     * Paused with only the end of the response left to write (under the stream's 65,535-byte
     * window): the client never got it, whichever side's idle timeout fires first.
     */
    @Test
    void anHttp2StreamPausedBeforeItsLastBytesIsCutByTheClient() throws Exception {
        pauseHttp2("/tail");
        assertEquals(List.of(Exchange.End.CLIENT), ends(1));
        assertEquals(0, TestBalancer.only(lb).backends().getFirst().failures());
    }

    /** A player that skips to the next track hangs up in the middle of the stream. */
    @Test
    void aClientThatHangsUpMidStreamIsNotTheBackendsFailure() throws Exception {
        for (int n = 0; n < 3; n++) {
            try (Socket s = new Socket("127.0.0.1", lb.proxyPort())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("GET /track.flac HTTP/1.1\r\nHost: music.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertTrue(s.getInputStream().read(new byte[4096]) > 0, "the stream began");
            }
        }
        assertNotTheBackends();
    }

    /**
     * curl closes its connection as soon as a stream ends; over HTTP/2 that can fail the write of
     * the response's end after every byte went out. The response reached the client whole.
     */
    @Test
    void aClientThatClosesRightAfterTheLastByteGotACompleteResponse() throws Exception {
        HTTP2Client h2 = new HTTP2Client();
        h2.start();
        int streams = 30;
        try {
            for (int n = 0; n < streams; n++) {
                CompletableFuture<Long> received = new CompletableFuture<>();
                get(h2, "/small", new Stream.Listener() {
                    private long bytes;

                    @Override
                    public void onHeaders(Stream stream, HeadersFrame frame) {
                        stream.demand();
                    }

                    @Override
                    public void onDataAvailable(Stream stream) {
                        Stream.Data data = stream.readData();
                        if (data == null) {
                            stream.demand();
                            return;
                        }
                        bytes += data.frame().remaining();
                        boolean end = data.frame().isEndStream();
                        data.release();
                        if (end) {
                            // Gone at once, as curl does.
                            ((org.eclipse.jetty.http2.HTTP2Session) stream.getSession()).getEndPoint().close();
                            received.complete(bytes);
                        } else {
                            stream.demand();
                        }
                    }
                });
                assertEquals(SMALL, received.get(5, TimeUnit.SECONDS), "the whole body arrived");
            }
        } finally {
            h2.stop();
        }
        assertEquals(java.util.Collections.nCopies(streams, Exchange.End.COMPLETE), ends(streams));
    }

    /** How the first {@code count} exchanges ended, once nothing is in flight and all were reported. */
    private List<Exchange.End> ends(int count) throws InterruptedException {
        TestBalancer.awaitIdle(lb);
        TestBalancer.await(count + " reports", Duration.ofSeconds(5), () -> exchanges.size() >= count);
        return exchanges.stream().map(Exchange::end).toList();
    }

    private void assertNotTheBackends() throws InterruptedException {
        Backend server = TestBalancer.only(lb).backends().getFirst();
        assertEquals(java.util.Collections.nCopies(3, Exchange.End.CLIENT), ends(3), "the log and metrics say who cut it");
        assertEquals(0, server.failures(), "a paused client counted against the backend: " + server.lastError());
        assertEquals(0, server.ejections());
        assertEquals(BackendState.UP, server.state());
        assertEquals(3, server.requests(), "each stream reached the backend");
    }
}
