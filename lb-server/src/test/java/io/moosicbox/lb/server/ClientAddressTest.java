package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.ListenerLimits;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.discovery.HostResolver;
import io.moosicbox.lb.pool.TestBalancer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Behind a trusted proxy every client arrives from the proxy's address. The balancer then takes
 * the client from the proxy's X-Forwarded-For, so that {@code consistent_hash} on
 * {@code client_ip} spreads clients and the rate limit counts each client, not the proxy.
 */
class ClientAddressTest {
    private final List<Server> backends = new ArrayList<>();
    private LoadBalancer lb;
    private final HttpClient client = HttpClient.newHttpClient();

    @AfterEach
    void stop() throws Exception {
        if (lb != null) {
            lb.stop();
        }
        for (Server b : backends) {
            b.stop();
        }
        client.close();
    }

    private void start(List<String> trustedProxies, int ratePerIp) throws Exception {
        List<BackendSpec> specs = new ArrayList<>();
        for (String name : List.of("a", "b")) {
            Server backend = TestBalancer.serve(new Handler.Abstract() {
                @Override
                public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response, Callback callback) {
                    org.eclipse.jetty.io.Content.Sink.write(response, true, name, callback);
                    return true;
                }
            });
            backends.add(backend);
            specs.add(BackendSpec.parse(TestBalancer.url(backend)));
        }
        ClusterConfig cluster = new ClusterConfig("all", List.of("*"), List.of("/"), "consistent_hash",
                HealthCheckConfig.defaults(), specs, PoolSettings.defaults());
        LbConfig d = EnvConfig.defaults();
        LbConfig config = new LbConfig(new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                d.tls(), List.of(cluster), d.timeouts(), new LbConfig.ShutdownConfig(Duration.ofSeconds(1), Duration.ZERO), d.admin(), "info");
        lb = new LoadBalancer(config, HostResolver.system(), new ListenerLimits(0, 100, ratePerIp, trustedProxies));
        lb.start();
    }

    private HttpResponse<String> get(String forwardedFor) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lb.proxyPort() + "/"))
                .header("X-Forwarded-For", forwardedFor).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Which backend each of 24 clients lands on, asking twice each. */
    private Map<String, String> backendPerClient() throws Exception {
        Map<String, String> chosen = new HashMap<>();
        for (int round = 0; round < 2; round++) {
            for (int i = 1; i <= 24; i++) {
                String clientIp = "203.0.113." + i;
                String backend = get(clientIp).body();
                String before = chosen.putIfAbsent(clientIp, backend);
                assertTrue(before == null || before.equals(backend), clientIp + " moved from " + before + " to " + backend);
            }
        }
        return chosen;
    }

    @Test
    void consistentHashOnClientIpSpreadsTheClientsOfATrustedProxy() throws Exception {
        start(List.of("127.0.0.1"), 0);
        Set<String> used = new HashSet<>(backendPerClient().values());
        assertEquals(Set.of("a", "b"), used, "24 clients behind one proxy reach both backends");
    }

    @Test
    void anUntrustedPeerCannotChooseItsBackendWithXForwardedFor() throws Exception {
        start(List.of(), 0);
        Set<String> used = new HashSet<>(backendPerClient().values());
        assertEquals(1, used.size(), "the peer's own address decides: " + used);
    }

    @Test
    void theRateLimitCountsEachClientOfATrustedProxy() throws Exception {
        start(List.of("127.0.0.1"), 5);
        for (int i = 1; i <= 10; i++) {
            for (int twice = 0; twice < 2; twice++) {
                assertEquals(200, get("203.0.113." + i).statusCode(), "client " + i + " is within its own 5 a second");
            }
        }
        int limited = 0;
        for (int i = 0; i < 30 && limited == 0; i++) {
            if (get("198.51.100.1").statusCode() == 429) {
                limited++;
            }
        }
        assertEquals(1, limited, "one client over 5 a second is limited");
    }
}
