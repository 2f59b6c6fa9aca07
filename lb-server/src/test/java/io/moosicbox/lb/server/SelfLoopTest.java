package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.pool.TestBalancer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A backend that is the balancer itself (a typo in BACKEND_SERVERS, a Service that selects the
 * balancer's own pods): one request used to forward itself about a thousand times, holding two
 * sockets each until the idle timeout. It comes back marked by its own Via entry and is answered 508.
 */
class SelfLoopTest {
    private LoadBalancer lb;

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
    }

    @Test
    void aRequestThatComesBackIsAnswered508() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), Map.of("BIND_ADDRESS", "127.0.0.1:" + port,
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0", "SHUTDOWN_TIMEOUT", "1s", "BACKEND_SERVERS", "http://127.0.0.1:" + port)));
        lb.start();
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(508, r.statusCode(), r.body());
            assertTrue(r.body().contains("came back to the balancer"), r.body());
        }
        TestBalancer.awaitIdle(lb);
        assertEquals(1, TestBalancer.only(lb).backends().getFirst().requests(), "forwarded once, not until the connections ran out");
    }
}
