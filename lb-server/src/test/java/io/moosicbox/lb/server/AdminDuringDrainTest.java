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
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * While the proxy listeners drain, the admin listener keeps serving: a deploy script and
 * Prometheus watch the drain through it. It closed with the others, so /health and /metrics
 * refused connections for up to SHUTDOWN_TIMEOUT.
 */
class AdminDuringDrainTest {
    private final CountDownLatch requestArrived = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private Server backend;
    private LoadBalancer lb;

    @AfterEach
    void stop() throws Exception {
        release.countDown();
        if (backend != null) {
            backend.stop();
        }
    }

    @Test
    void theAdminListenerServesUntilTheDrainEnds() throws Exception {
        backend = TestBalancer.serve(new Handler.Abstract() {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response, Callback callback) {
                requestArrived.countDown();
                Thread.ofVirtual().start(() -> {
                    try {
                        release.await(20, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Content.Sink.write(response, true, "slow", callback);
                });
                return true;
            }
        });
        ClusterConfig cluster = new ClusterConfig("all", List.of("*"), List.of("/"), "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse(TestBalancer.url(backend))), PoolSettings.defaults());
        LbConfig d = EnvConfig.defaults();
        lb = new LoadBalancer(new LbConfig(new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                d.tls(), List.of(cluster), d.timeouts(), new LbConfig.ShutdownConfig(Duration.ofSeconds(20), Duration.ZERO), d.admin(), "info"));
        lb.adminContext().addServlet(new ServletHolder(new HttpServlet() {
            @Override
            protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
                resp.getWriter().print("admin up");
            }
        }), "/probe");
        lb.start();
        int proxyPort = lb.proxyPort();
        int adminPort = lb.adminPort();
        URI probe = URI.create("http://127.0.0.1:" + adminPort + "/probe");

        try (HttpClient client = HttpClient.newHttpClient()) {
            CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/")).build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(requestArrived.await(10, TimeUnit.SECONDS), "the slow request reached the backend");
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
                try {
                    lb.stop();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            TestBalancer.await("the proxy listener closed", Duration.ofSeconds(10), () -> refuses(proxyPort));

            HttpResponse<String> during = client.send(HttpRequest.newBuilder(probe).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, during.statusCode());
            assertEquals("admin up", during.body(), "the admin listener answers while a request drains");

            release.countDown();
            assertEquals("slow", inFlight.get(10, TimeUnit.SECONDS).body(), "the request in flight finished");
            stopped.get(20, TimeUnit.SECONDS);
        }
        assertTrue(refuses(adminPort), "the admin listener is closed once the balancer stopped");
    }

    private static boolean refuses(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
