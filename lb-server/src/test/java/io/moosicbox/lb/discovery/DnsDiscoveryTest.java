package io.moosicbox.lb.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.moosicbox.lb.config.ConfigLoader;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DNS discovery through a real balancer: the name {@code music.test} resolves to whatever the
 * test says, and its addresses are real backends on 127.0.0.1, 127.0.0.2 and 127.0.0.3 sharing one port.
 */
class DnsDiscoveryTest {
    @TempDir
    Path dir;
    private final Map<String, List<String>> dns = new ConcurrentHashMap<>();
    private final Set<String> failing = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicInteger failedLookups = new java.util.concurrent.atomic.AtomicInteger();
    private final HostResolver resolver = host -> {
        if (failing.contains(host)) {
            failedLookups.incrementAndGet();
            throw new UnknownHostException(host + ": SERVFAIL");
        }
        List<String> answer = dns.get(host);
        if (answer == null) {
            throw new UnknownHostException(host);
        }
        List<InetAddress> result = new ArrayList<>();
        for (String a : answer) {
            result.add(InetAddress.getByName(a));
        }
        return result;
    };
    private final List<Server> servers = new ArrayList<>();
    private LoadBalancer lb;
    private HttpClient client;

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.stop();
        }
        if (lb != null) {
            lb.stop();
        }
        for (Server s : servers) {
            s.stop();
        }
    }

    private int backends(String... ips) throws Exception {
        int port = 0;
        for (String ip : ips) {
            Server s = new Server();
            ServerConnector c = new ServerConnector(s, 1, 1);
            c.setHost(ip);
            c.setPort(port);
            s.addConnector(c);
            s.setHandler(new Handler.Abstract() {
                @Override
                public boolean handle(Request request, Response response, Callback callback) {
                    Content.Sink.write(response, true, ip, callback);
                    return true;
                }
            });
            s.start();
            servers.add(s);
            port = c.getLocalPort();
        }
        return port;
    }

    private LbConfig config(String backendLine) throws Exception {
        Path f = dir.resolve("lb.yaml");
        Files.writeString(f, """
                listeners: { http: 127.0.0.1:0, admin: 127.0.0.1:0 }
                clusters:
                  - name: music
                    backends:
                      - %s
                """.formatted(backendLine));
        return ConfigLoader.load(f, Map.of());
    }

    private List<String> addresses() {
        return lb.router().cluster("music").backends().stream().map(Backend::address).toList();
    }


    private Set<String> answeringBackends(int requests) throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < requests; i++) {
            var r = client.newRequest("http://127.0.0.1:" + lb.proxyPort() + "/").timeout(5, TimeUnit.SECONDS).send();
            assertEquals(200, r.getStatus(), r.getContentAsString());
            seen.add(r.getContentAsString());
        }
        return seen;
    }

    @Test
    void everyAddressOfTheNameIsABackendAndVanishedOnesDrain() throws Exception {
        int port = backends("127.0.0.1", "127.0.0.2", "127.0.0.3");
        dns.put("music.test", List.of("127.0.0.2", "127.0.0.1"));
        lb = new LoadBalancer(config("{ url: http://music.test:" + port + ", weight: 2, resolve: 1s }"), resolver);
        lb.start();
        client = new HttpClient();
        client.start();

        assertEquals(List.of("127.0.0.1:" + port, "127.0.0.2:" + port), addresses());
        assertEquals(2, lb.router().cluster("music").backends().getFirst().weight(), "settings carry to each address");
        assertEquals(Set.of("127.0.0.1", "127.0.0.2"), answeringBackends(6));
        Backend first = lb.router().cluster("music").find("127.0.0.1:" + port);
        Backend second = lb.router().cluster("music").find("127.0.0.2:" + port);

        // Scaled up and down at once: .3 appears, .2 goes; the timer notices within the interval.
        dns.put("music.test", List.of("127.0.0.1", "127.0.0.3"));
        TestBalancer.await("the new answer", Duration.ofSeconds(10), () -> addresses().equals(List.of("127.0.0.1:" + port, "127.0.0.3:" + port)));
        assertSame(first, lb.router().cluster("music").find("127.0.0.1:" + port), "a staying address keeps its Backend");
        assertEquals(BackendState.DRAINED, second.state(), "the vanished address was drained (nothing in flight)");
        assertEquals(Set.of("127.0.0.1", "127.0.0.3"), answeringBackends(6));

        // A failing lookup keeps the last answer: a DNS outage must not empty the cluster.
        Cluster before = lb.router().cluster("music");
        failing.add("music.test");
        TestBalancer.await("two failed lookups", Duration.ofSeconds(10), () -> failedLookups.get() >= 2);
        assertSame(before, lb.router().cluster("music"));
        assertEquals(Set.of("127.0.0.1", "127.0.0.3"), answeringBackends(4));
    }

    @Test
    void anAddressThatComesBackIsTheSameBackendWithItsRequestsAndItsOperatorsState() throws Exception {
        int port = backends("127.0.0.1", "127.0.0.2");
        dns.put("music.test", List.of("127.0.0.1", "127.0.0.2"));
        lb = new LoadBalancer(config("{ url: http://music.test:" + port + ", resolve: 1s }"), resolver);
        lb.start();
        String two = "127.0.0.2:" + port;
        Backend b = lb.router().cluster("music").find(two);
        var stream = b.acquire();   // a stream in flight on .2

        // A readiness flap: .2 leaves DNS and comes back while its stream runs.
        dns.put("music.test", List.of("127.0.0.1"));
        TestBalancer.await(".2 gone", Duration.ofSeconds(10), () -> !addresses().contains(two));
        assertEquals(BackendState.DRAINING, b.state());
        dns.put("music.test", List.of("127.0.0.1", "127.0.0.2"));
        TestBalancer.await(".2 back", Duration.ofSeconds(10), () -> addresses().contains(two));
        assertSame(b, lb.router().cluster("music").find(two), "one object per address, with its stream");
        assertEquals(BackendState.UP, b.state(), "back as it was before it left");
        assertEquals(List.of(), lb.retiredBackends(), "no second copy of the address");
        // So a drain waits for that stream instead of answering DRAINED at once.
        b.setState(BackendState.DRAINING);
        assertEquals(BackendState.DRAINING, b.state());
        stream.release(false);
        assertEquals(BackendState.DRAINED, b.state());

        // An operator's drain outlives the address leaving and coming back.
        dns.put("music.test", List.of("127.0.0.1"));
        TestBalancer.await(".2 gone again", Duration.ofSeconds(10), () -> !addresses().contains(two));
        dns.put("music.test", List.of("127.0.0.1", "127.0.0.2"));
        TestBalancer.await(".2 back again", Duration.ofSeconds(10), () -> addresses().contains(two));
        assertEquals(BackendState.DRAINED, lb.router().cluster("music").find(two).state(), "still drained, not UP");
    }

    @Test
    void aNameThatDoesNotResolveYetStartsEmptyAndFillsLater() throws Exception {
        int port = backends("127.0.0.1");
        lb = new LoadBalancer(config("http://later.test:" + port + " resolve=1s"), resolver);
        lb.start();
        client = new HttpClient();
        client.start();
        assertEquals(List.of(), addresses());
        assertEquals(503, client.newRequest("http://127.0.0.1:" + lb.proxyPort() + "/").timeout(5, TimeUnit.SECONDS).send().getStatus());
        dns.put("later.test", List.of("127.0.0.1"));
        TestBalancer.await("the name to resolve", Duration.ofSeconds(10), () -> addresses().equals(List.of("127.0.0.1:" + port)));
        assertEquals(Set.of("127.0.0.1"), answeringBackends(2));
    }

    @Test
    void refreshNowAndIpv6Addresses() throws IOException {
        List<Runnable> calls = new ArrayList<>();
        DnsDiscovery d = new DnsDiscovery(resolver, () -> calls.add(() -> {}));
        dns.put("v6.test", List.of("::1"));
        var spec = io.moosicbox.lb.config.BackendSpec.parse("https://v6.test:8443 resolve=30s max_conns=5");
        d.watch(List.of(new io.moosicbox.lb.config.ClusterConfig("x", List.of(), List.of(), "round_robin",
                io.moosicbox.lb.config.HealthCheckConfig.defaults(), List.of(spec), io.moosicbox.lb.config.PoolSettings.defaults())));
        assertEquals("https://[0:0:0:0:0:0:0:1]:8443 max_conns=5", d.expand(spec).getFirst().toString());
        d.refreshNow();
        assertEquals(0, calls.size(), "same answer: no rebuild");
        dns.put("v6.test", List.of("::1", "127.0.0.1"));
        d.refreshNow();
        assertEquals(1, calls.size());
        assertEquals(2, d.expand(spec).size());
        d.close();
    }
}
