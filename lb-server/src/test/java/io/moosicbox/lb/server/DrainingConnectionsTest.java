package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.TestBalancer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How the drain ends client connections, on an in-process balancer. */
class DrainingConnectionsTest {
    private final AtomicInteger slowInFlight = new AtomicInteger();
    private Server backend;
    private LoadBalancer lb;
    private HTTP2Client h2;

    @AfterEach
    void stop() throws Exception {
        if (h2 != null) {
            h2.stop();
        }
        if (lb != null && lb.server().isRunning()) {
            lb.server().stop();
        }
        if (backend != null) {
            backend.stop();
        }
    }

    /**
     * The GOAWAY promises to serve every stream (so a stream on its way is not refused while it
     * is being served), the stream in flight finishes, and the client then closes the session
     * itself: no final GOAWAY from the balancer was needed.
     */
    @Test
    void http2SessionsGetOneGoAwayThatServesEveryStreamAndCloseOnceDone() throws Exception {
        start();
        h2 = new HTTP2Client();
        h2.start();
        List<GoAwayFrame> goAways = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        Session session = h2.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()), new Session.Listener() {
            @Override
            public void onGoAway(Session s, GoAwayFrame frame) {
                goAways.add(frame);
            }

            @Override
            public void onClose(Session s, GoAwayFrame frame, Callback callback) {
                closed.complete(null);
                callback.succeeded();
            }
        }).get(5, TimeUnit.SECONDS);
        MetaData.Request request = new MetaData.Request("GET", HttpURI.from("http://127.0.0.1:" + lb.proxyPort() + "/slow"),
                HttpVersion.HTTP_2, HttpFields.EMPTY);
        CompletableFuture<Integer> status = TestBalancer.http2Status(session, request);
        TestBalancer.await("the slow request at the backend", Duration.ofSeconds(10), () -> slowInFlight.get() == 1);

        FutureTask<Void> stopped = stopInBackground();
        TestBalancer.await("the GOAWAY", Duration.ofSeconds(10), () -> !goAways.isEmpty());
        assertEquals(Integer.MAX_VALUE - 2, goAways.getFirst().getLastStreamId());
        assertEquals(ErrorCode.NO_ERROR.code, goAways.getFirst().getError());
        assertEquals(200, status.get(10, TimeUnit.SECONDS), "the stream in flight finished");
        closed.get(10, TimeUnit.SECONDS);
        stopped.get(10, TimeUnit.SECONDS);
        assertEquals(1, goAways.size(), "the client closed by itself, before any final GOAWAY: " + goAways);
    }

    /** A keep-alive connection waiting for its next request is ended, and the drain does not wait for its idle timeout. */
    @Test
    void anIdleKeepAliveConnectionIsClosedAndTheDrainEndsAtOnce() throws Exception {
        start();
        try (Socket socket = new Socket("127.0.0.1", lb.proxyPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 200", head);

            long begun = System.nanoTime();
            FutureTask<Void> stopped = stopInBackground();
            byte[] rest = in.readAllBytes();
            assertTrue(new String(rest, StandardCharsets.US_ASCII).endsWith("ok"), "the response, then the close");
            stopped.get(10, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - begun) / 1_000_000;
            assertTrue(ms < 3_000, "the drain ended " + ms + " ms after it began, well before its 10 s timeout");
        }
    }

    private FutureTask<Void> stopInBackground() {
        FutureTask<Void> stopped = new FutureTask<>(() -> {
            lb.stop();
            return null;
        });
        Thread.ofPlatform().name("test-stop").start(stopped);
        return stopped;
    }

    private void start() throws Exception {
        backend = new Server();
        ServerConnector connector = new ServerConnector(backend, 1, 1);
        connector.setHost("127.0.0.1");
        backend.addConnector(connector);
        backend.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, org.eclipse.jetty.server.Response response, Callback callback) throws Exception {
                if (Request.getPathInContext(request).equals("/slow")) {
                    slowInFlight.incrementAndGet();
                    Thread.sleep(500);
                }
                Content.Sink.write(response, true, "ok", callback);
                return true;
            }
        });
        backend.start();
        String url = "http://127.0.0.1:" + connector.getLocalPort();
        ClusterConfig cluster = new ClusterConfig("default", List.of("*"), List.of("/"), "round_robin",
                HealthCheckConfig.defaults(), List.of(BackendSpec.parse(url)), PoolSettings.defaults());
        LbConfig d = EnvConfig.defaults();
        lb = new LoadBalancer(new LbConfig(new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                d.tls(), List.of(cluster), d.timeouts(), new LbConfig.ShutdownConfig(Duration.ofSeconds(10), Duration.ZERO),
                d.admin(), "info"));
        lb.start();
    }

}
