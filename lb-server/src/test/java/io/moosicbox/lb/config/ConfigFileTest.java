package io.moosicbox.lb.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigFileTest {
    @TempDir
    Path dir;

    private Path write(String yaml) throws Exception {
        Path f = dir.resolve("lb.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    @Test
    void readsEveryPartOfTheSchema() throws Exception {
        Path f = write("""
                listeners:
                  http: 127.0.0.1:8080
                  admin: 127.0.0.1:9191
                tls:
                  certificates:
                    - cert: /certs/a.pem
                      key: /certs/a.key
                  redirect_http: true
                clusters:
                  - name: api
                    hosts: [api.example.com, "*.api.example.com"]
                    paths: [/api/]
                    algorithm: round_robin
                    health_check: { path: /health, interval: 2s, timeout: 1s, rise: 1, fall: 4 }
                    retries: 0
                    queue_size: 7
                    queue_timeout: 250ms
                    slow_start: 30s
                    hash_key: header:X-User
                    backends:
                      - { url: http://10.0.0.1:8001, weight: 3, max_conns: 200 }
                      - 10.0.0.2:8001 weight=2
                      - { url: music.svc:8000, resolve: 30s }
                  - name: default
                    hosts: "*"
                    backends: http://10.0.0.3:8001
                timeouts: { connect: 1s, idle: 2m, response_headers: 0 }
                shutdown: { timeout: 10s, delay: 3s }
                admin: { token: secret }
                log_level: debug
                """);
        LbConfig c = ConfigLoader.load(f, Map.of());
        assertEquals("127.0.0.1:8080", c.listeners().http().toString());
        assertEquals("0.0.0.0:443", c.listeners().https().toString(), "certificates turn the TLS listener on");
        assertEquals("127.0.0.1:9191", c.listeners().admin().toString());
        assertEquals(List.of(new LbConfig.CertificatePair("/certs/a.pem", "/certs/a.key")), c.tls().certificates());
        assertTrue(c.tls().redirectHttp());
        ClusterConfig api = c.clusters().get(0);
        assertEquals("api", api.name());
        assertEquals(List.of("api.example.com", "*.api.example.com"), api.hosts());
        assertEquals(List.of("/api/"), api.paths());
        assertEquals(new HealthCheckConfig("/health", Duration.ofSeconds(2), Duration.ofSeconds(1), 1, 4), api.healthCheck());
        assertEquals(new PoolSettings(0, 7, Duration.ofMillis(250), Duration.ofSeconds(30), "header:X-User"), api.pool());
        assertEquals(List.of("http://10.0.0.1:8001 weight=3 max_conns=200", "http://10.0.0.2:8001 weight=2",
                "http://music.svc:8000 resolve=30s"), api.backends().stream().map(BackendSpec::toString).toList());
        ClusterConfig def = c.clusters().get(1);
        assertEquals(List.of("*"), def.hosts());
        assertEquals(List.of(), def.paths());
        assertEquals(PoolSettings.defaults(), def.pool());
        assertEquals(HealthCheckConfig.defaults(), def.healthCheck());
        assertEquals(new LbConfig.Timeouts(Duration.ofSeconds(1), Duration.ofMinutes(2), Duration.ZERO), c.timeouts());
        assertEquals(new LbConfig.ShutdownConfig(Duration.ofSeconds(10), Duration.ofSeconds(3)), c.shutdown());
        assertEquals("secret", c.admin().token());
        assertEquals("debug", c.logLevel());
    }

    @Test
    void accessLogFromTheFileAndTheEnvironment() throws Exception {
        Path f = write("""
                clusters:
                  - name: default
                    backends: [http://10.0.0.3:8001]
                access_log: { target: /var/log/lb/access.log, format: json }
                """);
        LbConfig fromFile = ConfigLoader.load(f, Map.of());
        assertEquals(new LbConfig.AccessLogConfig("/var/log/lb/access.log", "json"), fromFile.accessLog());
        LbConfig overridden = ConfigLoader.load(f, Map.of("ACCESS_LOG", "stdout", "ACCESS_LOG_FORMAT", "combined"));
        assertEquals(new LbConfig.AccessLogConfig("stdout", "combined"), overridden.accessLog());
        assertFalse(ConfigLoader.load(f, Map.of("ACCESS_LOG", "off")).accessLog().enabled());
        ConfigException bad = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(f, Map.of("ACCESS_LOG_FORMAT", "xml")));
        assertTrue(bad.problems().get(0).startsWith("ACCESS_LOG_FORMAT=\"xml\""), bad.problems().toString());
    }

    /** A configuration mounted with its certificates (one Kubernetes volume) names them beside itself. */
    @Test
    void relativePathsInTheFileAreReadAgainstItsFolder() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path f = conf.resolve("lb.yaml");
        Files.writeString(f, """
                tls:
                  certificates: [{ cert: tls/a.crt, key: ../keys/a.key }, { cert: /abs/b.crt, key: /abs/b.key }]
                  backends: { ca_file: ca.pem }
                clusters:
                  - name: default
                    backends: [http://10.0.0.3:8001]
                access_log: { target: logs/access.log }
                """);
        LbConfig c = ConfigLoader.load(f, Map.of());
        assertEquals(List.of(new LbConfig.CertificatePair(conf.resolve("tls/a.crt").toString(), conf.resolve("../keys/a.key").toString()),
                new LbConfig.CertificatePair("/abs/b.crt", "/abs/b.key")), c.tls().certificates());
        assertEquals(conf.resolve("ca.pem").toString(), c.tls().backends().caFile());
        assertEquals(conf.resolve("logs/access.log").toString(), c.accessLog().target());

        // A variable is not in the file: its relative path stays relative to the working folder.
        LbConfig env = ConfigLoader.load(f, Map.of("SSL_CERT_PATH", "x.crt", "SSL_KEY_PATH", "x.key",
                "BACKEND_CA_FILE", "ca.pem", "ACCESS_LOG", "access.log"));
        assertEquals(List.of(new LbConfig.CertificatePair("x.crt", "x.key")), env.tls().certificates());
        assertEquals("ca.pem", env.tls().backends().caFile());
        assertEquals("access.log", env.accessLog().target());

        Files.writeString(f, "clusters: [{ name: d, backends: [10.0.0.3:8001] }]\naccess_log: { target: stdout }\n");
        assertEquals("stdout", ConfigLoader.load(f, Map.of()).accessLog().target());
    }

    @Test
    void aBackendOptionGivenTwiceIsAProblemNamingBoth() throws Exception {
        Path f = write("""
                clusters:
                  - name: default
                    backends: ["10.0.0.3:8001 weight=5 weight=1"]
                """);
        assertEquals(List.of(f + ":3: clusters[0].backends[0]: \"10.0.0.3:8001 weight=5 weight=1\": "
                + "'weight=1' after 'weight=5': weight is given twice for 10.0.0.3:8001; give it once"), ConfigFile.read(f).problems());
    }

    @Test
    void environmentOverridesSingleValuesOfTheFile() throws Exception {
        Path f = write("""
                listeners: { http: 127.0.0.1:8080, admin: 127.0.0.1:9191 }
                clusters:
                  - name: api
                    hosts: [api.example.com]
                    health_check: { path: /health, interval: 2s }
                    backends: [http://10.0.0.1:8001]
                  - name: default
                    hosts: ["*"]
                    backends: [http://10.0.0.3:8001]
                timeouts: { connect: 1s, idle: 2m }
                shutdown: { timeout: 10s }
                log_level: debug
                """);
        LbConfig c = ConfigLoader.load(f, Map.of(
                "BIND_ADDRESS", "127.0.0.1:7070",
                "IDLE_TIMEOUT", "5m",
                "HEALTH_CHECK_INTERVAL", "9s",
                "BACKEND_SERVERS", "http://10.0.0.4:80",
                "LOG_LEVEL", "warn"));
        assertEquals("127.0.0.1:7070", c.listeners().http().toString(), "variable wins");
        assertEquals("127.0.0.1:9191", c.listeners().admin().toString(), "file value kept");
        assertEquals(Duration.ofMinutes(5), c.timeouts().idle());
        assertEquals(Duration.ofSeconds(1), c.timeouts().connect());
        assertEquals(Duration.ofSeconds(10), c.shutdown().timeout());
        assertEquals(Duration.ofSeconds(9), c.clusters().get(0).healthCheck().interval());
        assertEquals("/health", c.clusters().get(0).healthCheck().path(), "only the interval was overridden");
        assertEquals(List.of("10.0.0.1:8001"), c.clusters().get(0).backends().stream().map(BackendSpec::address).toList());
        assertEquals(List.of("10.0.0.4:80"), c.clusters().get(1).backends().stream().map(BackendSpec::address).toList(),
                "BACKEND_SERVERS replaces the default cluster's backends");
        assertEquals("warn", c.logLevel());

        LbConfig compat = ConfigLoader.load(f, Map.of("PORT", "6188", "CLUSTERS", "x.example.com:10.0.0.8:80"));
        assertEquals("0.0.0.0:6188", compat.listeners().http().toString());
        assertEquals(List.of("x.example.com"), compat.clusters().stream().map(ClusterConfig::name).toList(),
                "CLUSTERS replaces the file's clusters");
    }

    @Test
    void reportsEveryProblemWithFileLineAndKey() throws Exception {
        Path f = write("""
                listeners:
                  http: nowhere
                  htps: 0.0.0.0:443
                clusters:
                  - name: api
                    hosts: [api.example.com, "bad host"]
                    paths: [api]
                    algorithm: fastest
                    health_check: { interval: soon, rise: 0 }
                    retries: -1
                    hash_key: ip
                    backends:
                      - { url: http://10.0.0.1:8001, weight: "x", max_conns: 1.5, colour: red }
                      - ftp://10.0.0.2:21
                      - { weight: 2 }
                      - http://10.0.0.1:8001
                  - name: api
                    hosts: [api.example.com]
                  - hosts: ["*"]
                    backends: [10.0.0.3:80]
                timeouts: { connect: 0 }
                shutdown: { timeout: 30 }
                log_level: loud
                extra: 1
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of("IDLE_TIMEOUT", "forever")));
        String name = f.toString();
        List<String> expected = List.of(
                name + ":3: listeners.htps: unknown key; expected one of http, https, admin",
                name + ":2: listeners.http: \"nowhere\": expected host:port, such as 0.0.0.0:80",
                name + ":13: clusters[0].backends[0].colour: unknown key; expected one of url, weight, max_conns, resolve",
                name + ":6: clusters[0].hosts[1]: \"bad host\": expected a host name such as music.example.com, a wildcard such as *.example.com, or *",
                name + ":7: clusters[0].paths[0]: \"api\": expected a path prefix starting with /, such as /api/",
                name + ":8: clusters[0].algorithm: \"fastest\": unknown algorithm; expected one of",
                name + ":9: clusters[0].health_check.interval: \"soon\": expected a duration such as 250ms, 5s, 2m or 1h",
                name + ":9: clusters[0].health_check.rise: \"0\": expected a whole number from 1 to 100",
                name + ":13: clusters[0].backends[0].weight: \"x\": expected a whole number",
                name + ":13: clusters[0].backends[0].max_conns: \"1.5\": expected a whole number",
                name + ":14: clusters[0].backends[1]: \"ftp://10.0.0.2:21\": 'ftp://10.0.0.2:21' has scheme 'ftp'; expected http or https",
                name + ":15: clusters[0].backends[2].url: missing; expected http://host:port",
                name + ":16: clusters[0].backends[3]: 10.0.0.1:8001 is listed twice (also clusters[0].backends[0])",
                name + ":10: clusters[0].retries: \"-1\": expected a whole number from 0 to 100",
                name + ":11: clusters[0].hash_key: \"ip\": expected client_ip, header:NAME or cookie:NAME",
                name + ":17: clusters[1].name: \"api\": the name of clusters[0] too; names must be unique",
                name + ":18: clusters[1]: host api.example.com path / is already routed to cluster api; each host and path goes to one cluster",
                name + ":17: clusters[1].backends: missing; every cluster needs at least one backend",
                name + ":19: clusters[2].name: missing; every cluster needs a name",
                name + ":21: timeouts.connect: \"0\": must be more than 0",
                name + ":22: shutdown.timeout: \"30\": expected a duration such as 250ms, 5s, 2m or 1h",
                name + ":23: log_level: \"loud\": expected one of error, warn, info, debug, trace",
                name + ":24: extra: unknown key; expected one of listeners, tls, clusters, timeouts, shutdown, admin, log_level, access_log, websocket",
                "IDLE_TIMEOUT=\"forever\": expected a duration such as 250ms, 5s, 2m or 1h");
        List<String> problems = e.problems();
        for (String want : expected) {
            assertTrue(problems.stream().anyMatch(p -> p.startsWith(want)), "missing: " + want + "\nin:\n" + String.join("\n", problems));
        }
        assertEquals(expected.size(), problems.size(), String.join("\n", problems));
    }

    @Test
    void syntaxErrorsAndDuplicateKeysNameTheLine() throws Exception {
        ConfigFile.Result dup = ConfigFile.read("lb.yaml", new StringReader("""
                clusters:
                  - name: a
                    backends: [10.0.0.1:80]
                    name: b
                """));
        assertEquals(List.of("lb.yaml:4: name: written twice (also on line 2)"), dup.problems());

        ConfigFile.Result bad = ConfigFile.read("lb.yaml", new StringReader("clusters:\n  - name: [a\n  x: y\n"));
        assertEquals(1, bad.problems().size());
        assertTrue(bad.problems().getFirst().matches("lb\\.yaml:\\d+: not valid YAML: .*"), bad.problems().toString());

        ConfigFile.Result notMap = ConfigFile.read("lb.yaml", new StringReader("- a\n- b\n"));
        assertEquals(List.of("lb.yaml:1: expected keys and values (a mapping)", "lb.yaml:1: expected keys such as listeners:, clusters:"),
                notMap.problems());

        ConfigException missing = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir.resolve("nope.yaml"), Map.of()));
        assertEquals(List.of(dir.resolve("nope.yaml") + ": cannot read the configuration file: no such file"), missing.problems());
    }

    @Test
    void aliasesStandForWhatTheirAnchorHolds() throws Exception {
        ConfigFile.Result r = ConfigFile.read("lb.yaml", new StringReader("""
                clusters_defaults: &check { path: /health, interval: 2s }
                clusters:
                  - name: a
                    hosts: [&h a.example.com]
                    health_check: *check
                    backends: &be [http://127.0.0.1:22001]
                  - name: b
                    hosts: [*h]
                    paths: [/b/]
                    <<: &pool { retries: 0, queue_size: 3 }
                    backends: *be
                """));
        // The unknown key is the only problem: the aliases are read as what they stand for.
        assertEquals(List.of("lb.yaml:1: clusters_defaults: unknown key; expected one of listeners, tls, clusters, timeouts, shutdown, admin, log_level, access_log, websocket"),
                r.problems());
        ClusterConfig b = r.config().clusters().get(1);
        assertEquals(List.of("http://127.0.0.1:22001"), b.backends().stream().map(BackendSpec::toString).toList());
        assertEquals(List.of("a.example.com"), b.hosts());
        assertEquals(0, b.pool().retries());
        assertEquals(3, b.pool().queueSize());
        assertEquals("/health", r.config().clusters().get(0).healthCheck().path());

        ConfigFile.Result undefined = ConfigFile.read("lb.yaml", new StringReader("""
                clusters:
                  - name: a
                    backends: *nowhere
                """));
        assertEquals(List.of("lb.yaml:3: not valid YAML: found undefined alias nowhere"), undefined.problems());

        ConfigFile.Result loop = ConfigFile.read("lb.yaml", new StringReader("clusters: &c\n  - name: a\n    backends: *c\n"));
        assertTrue(loop.problems().contains("lb.yaml:1: an alias inside the very anchor it names; expected a value that does not contain itself"),
                loop.problems().toString());
    }

    /** --config naming a folder said "IOException: Is a directory". */
    @Test
    void aConfigurationFileThatCannotBeReadSaysWhyInWords() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("conf.d"));
        assertEquals(List.of(folder + ": cannot read the configuration file: it is a folder, not a file"),
                ConfigFile.read(folder).problems());
        assertEquals(List.of(dir.resolve("lb.yaml") + ": cannot read the configuration file: no such file"),
                ConfigFile.read(dir.resolve("lb.yaml")).problems());
    }

    @Test
    void aSecondDocumentIsRefused() throws Exception {
        ConfigFile.Result r = ConfigFile.read("lb.yaml", new StringReader("""
                ---
                clusters:
                  - { name: a, backends: [10.0.0.1:80] }
                ---
                clusters:
                  - { name: b, backends: [10.0.0.2:80] }
                """));
        assertEquals(List.of("lb.yaml:4: a second YAML document (after ---): the configuration is one document; put every cluster in the first"),
                r.problems());
        ConfigFile.Result one = ConfigFile.read("lb.yaml", new StringReader("---\nclusters:\n  - { name: a, backends: [10.0.0.1:80] }\n"));
        assertEquals(List.of(), one.problems(), "a single document may start with ---");
    }

    @Test
    void emptyValuesMeanTheDefault() throws Exception {
        Path f = write("""
                listeners:
                tls:
                clusters:
                  - name: default
                    hosts:
                    health_check:
                    backends: [10.0.0.1:80]
                admin: { token: null }
                """);
        LbConfig c = ConfigLoader.load(f, Map.of());
        assertEquals("0.0.0.0:80", c.listeners().http().toString());
        assertNull(c.listeners().https());
        assertNull(c.admin().token());
        assertEquals(HealthCheckConfig.defaults(), c.clusters().getFirst().healthCheck());
    }

    /** A cluster without hosts takes any host: it is the one BACKEND_SERVERS fills, not a second one that gets nothing. */
    @Test
    void backendServersFillsACatchAllClusterWithoutHosts() throws Exception {
        Path f = write("""
                clusters:
                  - name: main
                    backends: [http://10.0.0.1:8001]
                """);
        LbConfig c = ConfigLoader.load(f, Map.of("BACKEND_SERVERS", "http://10.0.0.4:80"));
        assertEquals(List.of("main"), c.clusters().stream().map(ClusterConfig::name).toList());
        assertEquals(List.of("10.0.0.4:80"), c.clusters().get(0).backends().stream().map(BackendSpec::address).toList());
    }

    /**
     * BACKEND_SERVERS fills the cluster that takes every host and path, not the first cluster without hosts: in
     * the example file and the Kubernetes ConfigMap that was the solver (paths only), so the ACME challenges went
     * to the MoosicBox servers and the catch-all kept its old backends.
     */
    @Test
    void backendServersFillsTheCatchAllNotTheSolverOrAPathCluster() throws Exception {
        Path f = write("""
                clusters:
                  - name: solver
                    paths: [/.well-known/acme-challenge/]
                    backends: [http://10.0.0.9:8089]
                  - name: api
                    paths: [/api/]
                    backends: [http://10.0.0.1:8001]
                  - name: main
                    hosts: ["*"]
                    backends: [http://10.0.0.3:8001]
                """);
        LbConfig c = ConfigLoader.load(f, Map.of("BACKEND_SERVERS", "http://10.0.0.4:80"));
        assertEquals(List.of("10.0.0.9:8089", "10.0.0.1:8001", "10.0.0.4:80"),
                c.clusters().stream().map(x -> x.backends().getFirst().address()).toList());

        // Without such a cluster: the one named default, else another of any host, never the solver.
        f = write("""
                clusters:
                  - name: solver
                    paths: [/.well-known/acme-challenge/]
                    backends: [http://10.0.0.9:8089]
                  - name: api
                    paths: [/api/]
                    backends: [http://10.0.0.1:8001]
                """);
        c = ConfigLoader.load(f, Map.of("BACKEND_SERVERS", "http://10.0.0.4:80"));
        assertEquals(List.of("10.0.0.9:8089", "10.0.0.4:80"), c.clusters().stream().map(x -> x.backends().getFirst().address()).toList());
        f = write("""
                clusters:
                  - name: solver
                    paths: [/.well-known/acme-challenge/]
                    backends: [http://10.0.0.9:8089]
                  - name: default
                    hosts: [music.example.com]
                    backends: [http://10.0.0.1:8001]
                """);
        c = ConfigLoader.load(f, Map.of("BACKEND_SERVERS", "http://10.0.0.4:80"));
        assertEquals(List.of("10.0.0.9:8089", "10.0.0.4:80"), c.clusters().stream().map(x -> x.backends().getFirst().address()).toList());
    }

    @Test
    void anEmptyBackendListIsAnError() throws Exception {
        Path f = write("""
                clusters:
                  - name: main
                    backends: []
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, Map.of()));
        assertTrue(e.getMessage().contains("clusters[0].backends: empty; every cluster needs at least one backend"), e.getMessage());
    }
}
