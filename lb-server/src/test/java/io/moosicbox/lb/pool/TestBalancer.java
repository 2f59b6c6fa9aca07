package io.moosicbox.lb.pool;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** Builds and starts a real balancer on loopback ports for tests. */
public final class TestBalancer {
    private TestBalancer() {}

    public static ClusterConfig cluster(String algorithm, HealthCheckConfig health, PoolSettings pool, String... backends) {
        return new ClusterConfig("test", List.of("*"), List.of("/"), algorithm, health,
                java.util.Arrays.stream(backends).map(BackendSpec::parse).toList(), pool);
    }

    public static ClusterConfig cluster(String algorithm, PoolSettings pool, String... backends) {
        return cluster(algorithm, HealthCheckConfig.defaults(), pool, backends);
    }

    /** @param responseHeaders the 504 timeout */
    public static LoadBalancer start(Duration responseHeaders, ClusterConfig... clusters) throws Exception {
        LbConfig defaults = EnvConfig.defaults();
        LbConfig config = new LbConfig(
                new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                defaults.tls(), List.of(clusters),
                new LbConfig.Timeouts(Duration.ofSeconds(2), Duration.ofSeconds(30), responseHeaders),
                new LbConfig.ShutdownConfig(Duration.ofSeconds(1), Duration.ZERO),
                defaults.admin(), "info");
        LoadBalancer lb = new LoadBalancer(config);
        lb.start();
        return lb;
    }

    /**
     * A started Jetty backend on a free loopback port, answering with {@code handler}; request
     * headers up to 128 KiB (Jetty's default of 8 KiB is below what the balancer forwards).
     */
    public static Server serve(Handler handler) throws Exception {
        Server server = new Server();
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(128 * 1024);
        ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(handler);
        server.start();
        return server;
    }

    /** The base URL of a server made by {@link #serve}. */
    /**
     * A body of {@code blocks} zero blocks of {@code size} bytes with its Content-Length, written
     * as fast as the proxy takes it (on a virtual thread, each write waited for), as a large file is served.
     */
    public static void writeBlocks(org.eclipse.jetty.server.Response response, org.eclipse.jetty.util.Callback callback, int blocks, int size) {
        response.getHeaders().put("Content-Length", (long) blocks * size);
        Thread.ofVirtual().start(() -> {
            try {
                for (int i = 0; i < blocks; i++) {
                    try (org.eclipse.jetty.util.Blocker.Callback written = org.eclipse.jetty.util.Blocker.callback()) {
                        response.write(i == blocks - 1, java.nio.ByteBuffer.allocate(size), written);
                        written.block();
                    }
                }
                callback.succeeded();
            } catch (Throwable t) {
                callback.failed(t);
            }
        });
    }

    public static String url(Server server) {
        return "http://127.0.0.1:" + ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    public static Cluster only(LoadBalancer lb) {
        return lb.clusters().get(0);
    }

    public static Backend backend(LoadBalancer lb, TestBackend b) {
        return only(lb).find("127.0.0.1:" + b.port());
    }

    /**
     * A backend on a raw loopback socket, for answers a real server would not give: each accepted
     * connection is served on a virtual thread of its own until the test closes the socket.
     */
    public static ServerSocket rawBackend(Consumer<Socket> serve) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> serve.accept(s));
                } catch (IOException e) {
                    // closed by the test
                }
            }
        });
        return server;
    }

    /** Polls until the condition holds; fails the test after the deadline. */
    public static void await(String what, Duration within, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + within + " waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    /** Waits until no request is in flight, neither on a backend nor in the balancer. */
    public static void awaitIdle(LoadBalancer lb) throws InterruptedException {
        await("no request in flight in the balancer (" + lb.inflightRequests() + ")", Duration.ofSeconds(5),
                () -> lb.inflightRequests() == 0);
        for (Cluster c : lb.clusters()) {
            for (Backend b : c.backends()) {
                await("in-flight count of " + b + " back to 0 (is " + b.inflight() + ")", Duration.ofSeconds(5),
                        () -> b.inflight() == 0);
            }
        }
    }

    /**
     * Sends an HTTP/2 request without a body on {@code session} and reads its answer to the end.
     *
     * @return the response status, or -1 when the stream was reset
     */
    public static CompletableFuture<Integer> http2Status(Session session, MetaData.Request request) {
        CompletableFuture<Integer> status = new CompletableFuture<>();
        session.newStream(new HeadersFrame(request, null, true), new Stream.Listener() {
            @Override
            public void onHeaders(Stream stream, HeadersFrame frame) {
                if (frame.getMetaData() instanceof MetaData.Response response) {
                    status.complete(response.getStatus());
                }
                stream.demand();
            }

            @Override
            public void onDataAvailable(Stream stream) {
                Stream.Data data = stream.readData();
                if (data != null) {
                    data.release();
                    if (data.frame().isEndStream()) {
                        return;
                    }
                }
                stream.demand();
            }

            @Override
            public void onReset(Stream stream, ResetFrame frame, Callback callback) {
                status.complete(-1);
                callback.succeeded();
            }
        });
        return status;
    }
}
