package io.moosicbox.lb.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.pool.Cluster;
import io.moosicbox.lb.route.Router;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClustersVariableTest {
    static final String MOOSICBOX = "a.example.com,b.example.com:10.0.0.1:8001,10.0.0.2:8001;*:10.0.0.3:8001;solver:10.0.0.9:8089";

    @Test
    void theMoosicBoxFormWithSeveralNamesPerCluster() throws Exception {
        LbConfig config = ConfigLoader.load(null, Map.of("CLUSTERS", MOOSICBOX, "PORT", "8080"));
        assertEquals(8080, config.listeners().http().port());
        List<ClusterConfig> clusters = config.clusters();
        assertEquals(List.of("a.example.com", "default", "solver"), clusters.stream().map(ClusterConfig::name).toList());
        assertEquals(List.of("a.example.com", "b.example.com"), clusters.get(0).hosts());
        assertEquals(List.of("10.0.0.1:8001", "10.0.0.2:8001"), clusters.get(0).backends().stream().map(BackendSpec::address).toList());
        assertEquals(List.of("*"), clusters.get(1).hosts());
        assertEquals("http://10.0.0.9:8089", clusters.get(2).backends().getFirst().url().toString());

        Router r = new Router(clusters.stream().map(Cluster::of).toList());
        assertEquals("a.example.com", r.route("b.example.com", "/music").cluster().name());
        assertEquals("a.example.com", r.route("A.example.com:443", "/").cluster().name());
        assertEquals("default", r.route("c.example.com", "/").cluster().name());
        assertEquals("solver", r.route("a.example.com", "/.well-known/acme-challenge/x").cluster().name());
        assertEquals("solver", r.route("c.example.com", "/.well-known/acme-challenge/x").cluster().name());
        assertEquals("default", r.route("solver", "/").cluster().name(), "the solver never takes ordinary traffic");
    }

    @Test
    void healthCheckPathLeavesTheSolverOnItsTcpCheck() throws Exception {
        // ACME solvers answer 404 outside the challenge path: checked on /health they went DOWN and renewal failed.
        LbConfig config = ConfigLoader.load(null, Map.of("CLUSTERS", MOOSICBOX, "HEALTH_CHECK_PATH", "/health"));
        for (ClusterConfig c : config.clusters()) {
            assertEquals(c.name().equals("solver") ? null : "/health", c.healthCheck().path(), c.name());
        }
    }

    @Test
    void toleratesSpacesAndEmptyEntries() {
        List<ClusterConfig> c = ClustersVariable.parse(" a.example.com : 10.0.0.1:8001 , 10.0.0.2:8001 ; ;*:10.0.0.3:8001;");
        assertEquals(2, c.size());
        assertEquals(2, c.get(0).backends().size());
    }

    @Test
    void withoutAFallbackAnUnknownHostHasNoRoute() {
        Router r = new Router(ClustersVariable.parse("a.example.com:10.0.0.1:8001").stream().map(Cluster::of).toList());
        assertEquals(Router.Miss.UNKNOWN_HOST, r.route("x.example.com", "/").miss());
    }

    @Test
    void everyBadEntryIsNamed() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null,
                Map.of("CLUSTERS", "a.example.com:10.0.0.1:notaport;nonsense;a.example.com:10.0.0.2:80;b:ftp://x:1")));
        assertEquals(1, e.problems().size(), e.getMessage());
        String p = e.problems().getFirst();
        assertTrue(p.startsWith("CLUSTERS=\""), p);
        assertTrue(p.contains("entry 1"), p);
        assertTrue(p.contains("entry 2 'nonsense'"), p);
        assertTrue(p.contains("'a.example.com' is already named"), p);
        assertTrue(p.contains("scheme 'ftp'"), p);
    }

    /** The variable and the file take the same hosts: a setup moves from one to the other unchanged. */
    @Test
    void theVariableAndTheFileTakeTheSameHosts() {
        for (String host : List.of("music.example.com", "*.example.com", "*", "moosicbox_server", "solver", "Music.Example.COM",
                "exa mple.com", "*example.com", "music.*.com", "music.example.com.", "a/b", "-music", "music@example.com", "**")) {
            boolean file = ConfigFile.read("lb.yaml", new java.io.StringReader(
                    "clusters: [{ name: c, hosts: [\"" + host + "\"], backends: [10.0.0.1:8001] }]\n")).problems().isEmpty();
            String variableProblem = null;
            try {
                ClustersVariable.parse(host + ":10.0.0.1:8001");
            } catch (IllegalArgumentException e) {
                variableProblem = e.getMessage();
            }
            assertEquals(file, variableProblem == null, host + ": the file " + (file ? "takes" : "refuses") + " it, CLUSTERS "
                    + (variableProblem == null ? "takes it" : "refuses it: " + variableProblem));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClustersVariable.parse("a.example.com,exa mple.com:10.0.0.1:8001"));
        assertEquals("entry 1: host 'exa mple.com': expected a host name such as music.example.com, a wildcard such as "
                + "*.example.com, or *", e.getMessage());
        Router r = new Router(ClustersVariable.parse("*.example.com:10.0.0.1:8001").stream().map(Cluster::of).toList());
        assertEquals("*.example.com", r.route("a.b.example.com", "/").cluster().name());
        // A fully qualified name routed before hosts were checked; it must not stop a start now.
        Router fqdn = new Router(ClustersVariable.parse("music.example.com.:10.0.0.1:8001").stream().map(Cluster::of).toList());
        assertNotNull(fqdn.route("music.example.com", "/").cluster());
    }

    @Test
    void anEntryWithNothingOnOneSideIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClustersVariable.parse("a.example.com: , ;*:10.0.0.3:8001; , :10.0.0.4:80"));
        assertTrue(e.getMessage().contains("entry 1 'a.example.com: ,': no backend after ':'"), e.getMessage());
        assertTrue(e.getMessage().contains("entry 3 ', :10.0.0.4:80': no host name before ':'"), e.getMessage());
        assertTrue(!e.getMessage().contains("entry 2"), e.getMessage());
    }

    @Test
    void backendServersFillsTheDefaultCluster() throws Exception {
        LbConfig config = ConfigLoader.load(null, Map.of("CLUSTERS", "a.example.com:10.0.0.1:8001;*:10.0.0.3:8001",
                "BACKEND_SERVERS", "10.0.0.4:80,10.0.0.5:80"));
        assertEquals(List.of("10.0.0.4:80", "10.0.0.5:80"),
                config.clusters().get(1).backends().stream().map(BackendSpec::address).toList());
    }

    @Test
    void backendServersFillsTheFilesCatchAllClusterWhateverItsName(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("lb.yaml");
        Files.writeString(file, """
                clusters:
                  - name: music
                    hosts: ["*"]
                    backends: ["10.0.0.1:8001"]
                  - name: a
                    hosts: [a.example.com]
                    backends: ["10.0.0.2:8001"]
                """);
        LbConfig config = ConfigLoader.load(file, Map.of("BACKEND_SERVERS", "10.0.0.4:80"));
        assertEquals(List.of("music", "a"), config.clusters().stream().map(ClusterConfig::name).toList());
        assertEquals(List.of("10.0.0.4:80"), config.clusters().get(0).backends().stream().map(BackendSpec::address).toList());
        assertEquals(List.of("10.0.0.2:8001"), config.clusters().get(1).backends().stream().map(BackendSpec::address).toList());
    }
}
