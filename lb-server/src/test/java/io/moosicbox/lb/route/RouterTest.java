package io.moosicbox.lb.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Cluster;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouterTest {

    static Cluster cluster(String name, List<String> hosts, List<String> paths) {
        return Cluster.of(new ClusterConfig(name, hosts, paths, "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse("127.0.0.1:1")), PoolSettings.defaults()));
    }

    private static String to(Router r, String host, String path) {
        Router.Route route = r.route(host, path);
        return route.cluster() != null ? route.cluster().name() : route.miss().name();
    }

    @Test
    void exactHostBeatsWildcardBeatsFallback() {
        Router r = new Router(List.of(
                cluster("default", List.of("*"), List.of()),
                cluster("wild", List.of("*.example.com"), List.of()),
                cluster("deep", List.of("*.eu.example.com"), List.of()),
                cluster("api", List.of("api.example.com"), List.of())));
        assertEquals("api", to(r, "api.example.com", "/"));
        assertEquals("wild", to(r, "music.example.com", "/x"));
        assertEquals("wild", to(r, "a.b.example.com", "/x"), "a wildcard takes every level below it");
        assertEquals("deep", to(r, "x.eu.example.com", "/x"), "the longest wildcard wins");
        assertEquals("default", to(r, "example.com", "/"), "*.example.com does not take example.com itself");
        assertEquals("default", to(r, "other.org", "/"));
        assertEquals("default", to(r, null, "/"), "no Host header at all goes to the fallback");
        assertEquals("default", to(r, "notexample.com", "/"), "a suffix match must be on a dot");
    }

    @Test
    void hostIgnoresCasePortAndTrailingDot() {
        Router r = new Router(List.of(cluster("api", List.of("API.Example.com"), List.of())));
        assertEquals("api", to(r, "api.example.com", "/"));
        assertEquals("api", to(r, "Api.EXAMPLE.com:8443", "/"));
        assertEquals("api", to(r, "api.example.com.", "/"));
        assertEquals("api", to(r, "api.example.com.:80", "/"));
        assertEquals("UNKNOWN_HOST", to(r, "web.example.com", "/"));
        assertEquals("UNKNOWN_HOST", to(r, null, "/"));
        assertEquals("UNKNOWN_HOST", to(r, "", "/"));
    }

    @Test
    void ipv6HostsKeepTheirBrackets() {
        Router r = new Router(List.of(cluster("v6", List.of("[::1]"), List.of())));
        assertEquals("v6", to(r, "[::1]:8080", "/"));
        assertEquals("v6", to(r, "[::1]", "/"));
    }

    @Test
    void longestPathPrefixOnSegmentBoundaries() {
        Router r = new Router(List.of(
                cluster("root", List.of("m.example.com"), List.of("/")),
                cluster("api", List.of("m.example.com"), List.of("/api/")),
                cluster("v2", List.of("m.example.com"), List.of("/api/v2")),
                cluster("ws", List.of("m.example.com"), List.of("/ws"))));
        assertEquals("api", to(r, "m.example.com", "/api"));
        assertEquals("api", to(r, "m.example.com", "/api/"));
        assertEquals("api", to(r, "m.example.com", "/api/tracks/1"));
        assertEquals("root", to(r, "m.example.com", "/apix"), "/api/ must not take /apix");
        assertEquals("v2", to(r, "m.example.com", "/api/v2/x"));
        assertEquals("api", to(r, "m.example.com", "/api/v20"));
        assertEquals("ws", to(r, "m.example.com", "/ws"));
        assertEquals("ws", to(r, "m.example.com", "/ws/x?y"));
        assertEquals("root", to(r, "m.example.com", "/wss"));
        assertEquals("root", to(r, "m.example.com", "/"));
        assertEquals("root", to(r, "M.EXAMPLE.COM", "/API"), "paths are case-sensitive, hosts are not");
    }

    @Test
    void hostWithoutAMatchingPathFallsBackToStarThenIs404() {
        Router withStar = new Router(List.of(
                cluster("api", List.of("m.example.com"), List.of("/api")),
                cluster("default", List.of("*"), List.of("/"))));
        assertEquals("api", to(withStar, "m.example.com", "/api/x"));
        assertEquals("default", to(withStar, "m.example.com", "/other"));

        Router noStar = new Router(List.of(cluster("api", List.of("m.example.com"), List.of("/api"))));
        assertEquals("NO_PATH", to(noStar, "m.example.com", "/other"));
        assertEquals("UNKNOWN_HOST", to(noStar, "x.example.com", "/api"));
    }

    /** OPTIONS * (RFC 9112 3.2.4) asks about the server: it goes where the host's root goes, as HAProxy sends it to the host's backend. */
    @Test
    void theAsteriskGoesWhereTheHostsRootGoes() {
        Router r = new Router(List.of(
                cluster("root", List.of("m.example.com"), List.of("/")),
                cluster("api", List.of("m.example.com"), List.of("/api")),
                cluster("other", List.of("o.example.com"), List.of("/api")),
                cluster("default", List.of("*"), List.of("/"))));
        assertEquals("root", to(r, "m.example.com", "*"));
        assertEquals("default", to(r, "o.example.com", "*"), "a host without a root falls back like any path");
        assertEquals("default", to(r, "x.example.com", "*"));
        assertEquals("NO_PATH", to(new Router(List.of(cluster("api", List.of(), List.of("/api")))), "m.example.com", "*"));
    }

    @Test
    void noHostsMeansAnyHostAndNoPathsMeansEveryPath() {
        Router r = new Router(List.of(cluster("only", List.of(), List.of())));
        assertEquals("only", to(r, "whatever.example", "/deep/path"));
    }

    @Test
    void acmeChallengesGoToTheSolverWhateverTheHost() {
        Router r = new Router(List.of(
                cluster("music", List.of("music.example.com"), List.of("/")),
                cluster("wild", List.of("*.example.com"), List.of()),
                cluster("solver", List.of(), List.of(Router.ACME_CHALLENGE_PREFIX)),
                cluster("default", List.of("*"), List.of())));
        assertEquals("solver", to(r, "music.example.com", "/.well-known/acme-challenge/token123"));
        assertEquals("solver", to(r, "x.example.com", "/.well-known/acme-challenge/t"));
        assertEquals("solver", to(r, "unknown.org", "/.well-known/acme-challenge/t"));
        assertEquals("solver", to(r, null, "/.well-known/acme-challenge/t"));
        assertEquals("music", to(r, "music.example.com", "/.well-known/other"));
        assertEquals("default", to(r, "unknown.org", "/"), "the solver's path-only route does not take other paths");
        assertTrue(r.hasSolver());
    }

    /** The MoosicBox set-up (CLUSTERS='music.example.com:...;solver:...'): an unknown host is still a 421, not a 404. */
    @Test
    void aSolverWithoutHostsIsNoFallbackForUnknownHosts() {
        Router r = new Router(List.of(
                cluster("music", List.of("music.example.com"), List.of("/")),
                cluster("solver", List.of(), List.of(Router.ACME_CHALLENGE_PREFIX))));
        assertEquals("UNKNOWN_HOST", to(r, "other.example.com", "/"));
        assertEquals("solver", to(r, "other.example.com", "/.well-known/acme-challenge/t"));
        assertEquals("music", to(r, "music.example.com", "/x"));
    }

    @Test
    void acmeChallengeWithoutSolverRoutesNormally() {
        Router r = new Router(List.of(cluster("music", List.of("music.example.com"), List.of())));
        assertFalse(r.hasSolver());
        assertEquals("music", to(r, "music.example.com", "/.well-known/acme-challenge/t"));
        assertEquals("UNKNOWN_HOST", to(r, "other.org", "/.well-known/acme-challenge/t"));
    }

    @Test
    void isAcmeChallenge() {
        assertTrue(Router.isAcmeChallenge("/.well-known/acme-challenge/abc"));
        assertFalse(Router.isAcmeChallenge("/.well-known/acme-challenge"));
        assertFalse(Router.isAcmeChallenge("/.well-known/other/abc"));
        assertFalse(Router.isAcmeChallenge("/x/.well-known/acme-challenge/abc"));
        assertFalse(Router.isAcmeChallenge(null));
    }

    @Test
    void missesAndHitsAllocateNothingNewPerRequest() {
        Router r = new Router(List.of(cluster("api", List.of("m.example.com"), List.of("/api"))));
        assertTrue(r.route("m.example.com", "/api/1") == r.route("m.example.com", "/api/2"));
        assertTrue(r.route("x", "/") == r.route("y", "/"));
    }

    @Test
    void manyHostsAndPaths() {
        List<Cluster> clusters = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            clusters.add(cluster("c" + i, List.of("h" + i + ".example.com"), List.of("/p" + i, "/")));
        }
        Router r = new Router(clusters);
        for (int i = 0; i < 200; i++) {
            assertEquals("c" + i, to(r, "h" + i + ".example.com", "/p" + i + "/x"));
        }
        assertEquals("c7", r.cluster("c7").name());
        assertNull(r.cluster("nope"));
    }
}
