package io.moosicbox.lb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.server.LoadBalancer;
import java.util.Map;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Liveness and readiness on the admin listener, which the proxy listener never serves. */
class ReadinessTest {
    private LoadBalancer lb;
    private HttpClient client;

    @BeforeEach
    void start() throws Exception {
        lb = new LoadBalancer(EnvConfig.load(EnvConfig.defaults(), Map.of(
                "BACKEND_SERVERS", "127.0.0.1:9", "BIND_ADDRESS", "127.0.0.1:0", "ADMIN_BIND_ADDRESS", "127.0.0.1:0")));
        AdminApi.install(lb);
        lb.start();
        client = new HttpClient();
        client.start();
    }

    @AfterEach
    void stop() throws Exception {
        client.stop();
        lb.stop();
    }

    private ContentResponse admin(String path) throws Exception {
        return client.GET("http://127.0.0.1:" + lb.adminPort() + path);
    }

    @Test
    void healthIsUpAndJson() throws Exception {
        ContentResponse r = admin("/health");
        assertEquals(200, r.getStatus());
        assertEquals("application/json", r.getMediaType());
        assertEquals("{\"status\":\"UP\"}", r.getContentAsString());
    }

    @Test
    void readyFollowsTheBackends() throws Exception {
        ContentResponse ready = admin("/ready");
        assertEquals(200, ready.getStatus());
        assertEquals("{\"ready_backends\":1,\"status\":\"READY\"}", ready.getContentAsString());
        lb.clusters().get(0).backends().get(0).setState(BackendState.DISABLED);
        ContentResponse r = admin("/ready");
        assertEquals(503, r.getStatus());
        assertEquals("{\"ready_backends\":0,\"status\":\"NOT_READY\",\"reason\":\"no backend is ready\"}", r.getContentAsString());
    }

    @Test
    void theAdminEndpointsAreNotReachableThroughTheProxyListener() throws Exception {
        // The proxy forwards /health to the (unreachable) backend instead of answering it itself.
        ContentResponse r = client.GET("http://127.0.0.1:" + lb.proxyPort() + "/health");
        assertEquals(502, r.getStatus());
    }
}
