package io.moosicbox.lb.bench;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.route.Router;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Nanoseconds per {@link Router#route} on a table like a MoosicBox deployment's: two exact hosts
 * with path prefixes (/, /api, /api/v2, /ws), 20 more exact hosts, a {@code *.tenants} wildcard,
 * a {@code *} fallback with a /static prefix and the ACME solver. Each {@code request} kind is one
 * Host and path as the proxy passes them; {@code mix} cycles through all of them. How to run: README.
 */
public class RouterBenchmark extends NanosPerOperation {
    private static final String[][] REQUESTS = {
        // exact host, longest of three prefixes that match
        {"exact", "music.example.com", "/api/v2/tracks/123/stream", "api"},
        // exact host with a port and capitals, as some clients send it
        {"exact_port", "Music.Example.com:8443", "/ws", "ws"},
        // the wildcard, after the exact table misses
        {"wildcard", "alice.tenants.example.com", "/files/album/track-07.flac", "tenants"},
        // an address no host claims: the * fallback's /static prefix
        {"fallback", "10.0.0.5:80", "/static/js/app.3f9c1.js", "default"},
        // an ACME HTTP-01 challenge, whatever the host
        {"acme", "music.example.com", "/.well-known/acme-challenge/Oa3kq1lx7mZ2hT9bQ", Router.SOLVER},
    };

    @Param({"exact", "exact_port", "wildcard", "fallback", "acme", "mix"})
    public String request;

    private Router router;
    private String[] hosts;
    private String[] paths;
    private int next;

    @Setup
    public void setup() {
        List<Cluster> clusters = new ArrayList<>();
        List<String> musicHosts = List.of("music.example.com", "www.music.example.com");
        clusters.add(cluster("music", musicHosts, List.of("/")));
        clusters.add(cluster("api", musicHosts, List.of("/api", "/api/v2/")));
        clusters.add(cluster("ws", musicHosts, List.of("/ws")));
        for (int i = 0; i < 20; i++) {
            clusters.add(cluster("site" + i, List.of("site" + i + ".example.org"), List.of("/")));
        }
        clusters.add(cluster("tenants", List.of("*.tenants.example.com"), List.of("/")));
        clusters.add(cluster("default", List.of("*"), List.of("/", "/static")));
        clusters.add(cluster(Router.SOLVER, List.of(), List.of(Router.ACME_CHALLENGE_PREFIX)));
        router = new Router(clusters);

        List<String[]> chosen = new ArrayList<>();
        for (String[] r : REQUESTS) {
            if (request.equals("mix") || request.equals(r[0])) {
                chosen.add(r);
            }
        }
        hosts = chosen.stream().map(r -> r[1]).toArray(String[]::new);
        paths = chosen.stream().map(r -> r[2]).toArray(String[]::new);
        // A benchmark of the wrong answer measures nothing.
        for (String[] r : chosen) {
            Cluster c = router.route(r[1], r[2]).cluster();
            if (c == null || !c.name().equals(r[3])) {
                throw new IllegalStateException(r[1] + r[2] + " routed to " + (c == null ? "nothing" : c.name()) + ", not " + r[3]);
            }
        }
    }

    private static Cluster cluster(String name, List<String> hosts, List<String> paths) {
        ClusterConfig config = new ClusterConfig(name, hosts, paths, "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse("http://10.0.0.1:8001")), PoolSettings.defaults());
        return Cluster.of(config);
    }

    @Benchmark
    public Router.Route route() {
        int i = next++ % hosts.length;
        return router.route(hosts[i], paths[i]);
    }
}
