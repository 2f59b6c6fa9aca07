package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.server.LoadBalancer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy's own answers, with a real balancer in front of a real backend. */
class ProxyErrorsTest {
    private Server backend;
    private LoadBalancer lb;
    private HttpClient client;
    private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        backend = new Server();
        ServerConnector bc = new ServerConnector(backend);
        bc.setHost("127.0.0.1");
        backend.addConnector(bc);
        backend.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response,
                                  org.eclipse.jetty.util.Callback callback) {
                Content.Sink.write(response, true, "ok", callback);
                return true;
            }
        });
        backend.start();
        String url = "http://127.0.0.1:" + bc.getLocalPort();
        ClusterConfig music = new ClusterConfig("music", List.of("music.example.com"), List.of("/"), "round_robin",
                HealthCheckConfig.defaults(), List.of(BackendSpec.parse(url)), PoolSettings.defaults());
        LbConfig d = EnvConfig.defaults();
        LbConfig config = new LbConfig(new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                d.tls(), List.of(music), d.timeouts(), d.shutdown(), d.admin(), "info");
        lb = new LoadBalancer(config);
        lb.setExchangeListener(exchanges::add);
        lb.start();
        client = new HttpClient();
        client.start();
    }

    @AfterEach
    void stop() throws Exception {
        client.stop();
        lb.stop();
        backend.stop();
    }

    private ContentResponse get(String host, String path) throws Exception {
        return client.newRequest("http://127.0.0.1:" + lb.proxyPort() + path)
                .headers(h -> h.put("Host", host)).timeout(10, TimeUnit.SECONDS).send();
    }

    @Test
    void aRoutedRequestIsProxiedAndReportedWithItsBackend() throws Exception {
        ContentResponse r = get("Music.Example.com:8080", "/x");
        assertEquals(200, r.getStatus());
        assertEquals("ok", r.getContentAsString());
        Exchange e = awaitExchange();
        assertEquals("music", e.cluster());
        assertEquals(lb.clusters().get(0).backends().get(0).address(), e.backend());
        assertEquals(200, e.status());
        assertEquals("/x", e.uri());
        assertEquals(Exchange.End.COMPLETE, e.end());
        assertTrue(e.upstreamNanos() > 0 && e.durationNanos() >= e.upstreamNanos(), e.toString());
        assertEquals(0, lb.clusters().get(0).backends().get(0).inflight());
    }

    @Test
    void anUnknownHostIs421InPlainText() throws Exception {
        ContentResponse r = get("other.example.com", "/");
        assertEquals(421, r.getStatus());
        assertEquals("text/plain;charset=utf-8", r.getHeaders().get("Content-Type"));
        assertEquals("421 no route for this host\n", r.getContentAsString());
        assertEquals(421, awaitExchange().status());
    }

    @Test
    void noAvailableBackendIs503WithRetryAfter() throws Exception {
        Backend b = lb.clusters().get(0).backends().get(0);
        b.setState(BackendState.DISABLED);
        ContentResponse r = get("music.example.com", "/");
        assertEquals(503, r.getStatus());
        assertEquals("1", r.getHeaders().get("Retry-After"));
        assertEquals("503 no backend is available\n", r.getContentAsString());
        b.setState(BackendState.UP);
        assertEquals(200, get("music.example.com", "/").getStatus());
    }

    @Test
    void aBackendThatIsGoneIs502AndItsInflightCountReturnsToZero() throws Exception {
        backend.stop();
        ContentResponse r = get("music.example.com", "/");
        assertEquals(502, r.getStatus());
        Backend b = lb.clusters().get(0).backends().get(0);
        assertEquals(0, b.inflight());
        assertEquals(1, b.failures());
        assertTrue(b.lastError() != null, "the failure is recorded for the admin API");
        assertTrue(awaitExchange().backendFailure());
    }

    private Exchange awaitExchange() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (exchanges.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, exchanges.size(), exchanges.toString());
        return exchanges.get(0);
    }
}
