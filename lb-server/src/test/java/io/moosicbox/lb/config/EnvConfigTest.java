package io.moosicbox.lb.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EnvConfigTest {

    private static LbConfig load(Map<String, String> env) throws ConfigException {
        return EnvConfig.load(EnvConfig.defaults(), env);
    }

    @Test
    void defaultsFollowTheInterfaceContract() throws Exception {
        LbConfig c = load(Map.of("BACKEND_SERVERS", "http://127.0.0.1:8001"));
        assertEquals(new HostPort("0.0.0.0", 80), c.listeners().http());
        assertEquals(new HostPort("127.0.0.1", 9090), c.listeners().admin());
        assertEquals(Duration.ofSeconds(30), c.shutdown().timeout());
        assertEquals("info", c.logLevel());
        ClusterConfig cluster = c.clusters().get(0);
        assertEquals("round_robin", cluster.algorithm());
        assertEquals(Duration.ofSeconds(5), cluster.healthCheck().interval());
        assertEquals(null, cluster.healthCheck().path());
    }

    /**
     * The Pingora-based balancer turned TLS on with /etc/pingora/ssl/tls.crt and tls.key when no
     * variable named a certificate: a deployment that mounted them there must keep TLS.
     */
    @Test
    void thePingoraBalancersDefaultCertificateTurnsTlsOnWhenNothingElseNamesOne(@TempDir Path dir) throws Exception {
        LbConfig.CertificatePair pingora = new LbConfig.CertificatePair(dir.resolve("tls.crt").toString(), dir.resolve("tls.key").toString());
        Map<String, String> env = Map.of("BACKEND_SERVERS", "http://127.0.0.1:8001", "SSL_PORT", "8008");
        assertFalse(EnvConfig.load(EnvConfig.defaults(), env, pingora).tls().enabled(), "no files there: no TLS");

        Files.writeString(Path.of(pingora.cert()), "cert");
        assertFalse(EnvConfig.load(EnvConfig.defaults(), env, pingora).tls().enabled(), "a certificate without its key: no TLS");

        Files.writeString(Path.of(pingora.key()), "key");
        LbConfig c = EnvConfig.load(EnvConfig.defaults(), env, pingora);
        assertEquals(List.of(pingora), c.tls().certificates());
        assertEquals(new HostPort("0.0.0.0", 8008), c.listeners().https());

        // A certificate named anywhere wins.
        LbConfig named = EnvConfig.load(EnvConfig.defaults(), Map.of("BACKEND_SERVERS", "http://127.0.0.1:8001",
                "SSL_CERT_PATH", "/etc/certs/a.pem", "SSL_KEY_PATH", "/etc/certs/a.key"), pingora);
        assertEquals(List.of(new LbConfig.CertificatePair("/etc/certs/a.pem", "/etc/certs/a.key")), named.tls().certificates());
    }

    @Test
    void backendServersKeepWeightAndMaxConnsAndAcceptBareHostPort() throws Exception {
        LbConfig c = load(Map.of("BACKEND_SERVERS", " http://10.0.0.1:8001 weight=3 max_conns=200 ,10.0.0.2:8002,https://b.example.com"));
        List<BackendSpec> backends = c.clusters().get(0).backends();
        assertEquals(new BackendSpec(URI.create("http://10.0.0.1:8001"), 3, 200), backends.get(0));
        assertEquals(new BackendSpec(URI.create("http://10.0.0.2:8002"), 1, 0), backends.get(1));
        assertEquals(new BackendSpec(URI.create("https://b.example.com:443"), 1, 0), backends.get(2));
        assertEquals("b.example.com:443", backends.get(2).address());
        // IPv6 in brackets, with or without a scheme.
        backends = load(Map.of("BACKEND_SERVERS", "[::1]:8080,http://[2001:db8::1]:8001")).clusters().get(0).backends();
        assertEquals("[::1]:8080", backends.get(0).address());
        assertEquals("[2001:db8::1]:8001", backends.get(1).address());
    }

    @Test
    void portIsUsedOnlyWithoutBindAddress() throws Exception {
        assertEquals(new HostPort("0.0.0.0", 8080), load(Map.of("BACKEND_SERVERS", "a:1", "PORT", "8080")).listeners().http());
        assertEquals(new HostPort("127.0.0.1", 81),
                load(Map.of("BACKEND_SERVERS", "a:1", "PORT", "8080", "BIND_ADDRESS", "127.0.0.1:81")).listeners().http());
    }

    @Test
    void everyProblemIsReportedWithTheVariableAndItsValue() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of(
                "BACKEND_SERVERS", "gopher://x:1",
                "BIND_ADDRESS", "nowhere",
                "SHUTDOWN_TIMEOUT", "5 minutes",
                "LOG_LEVEL", "verbose")));
        assertEquals(4, e.problems().size(), e.problems().toString());
        assertTrue(e.problems().get(0).startsWith("BIND_ADDRESS=\"nowhere\": "), e.problems().toString());
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("BACKEND_SERVERS=\"gopher://x:1\": ")));
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("SHUTDOWN_TIMEOUT=\"5 minutes\": ")));
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("LOG_LEVEL=\"verbose\": ")));
    }

    @Test
    void variablesHaveTheFilesRanges() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of(
                "BACKEND_SERVERS", "a:1",
                "LB_RETRIES", "101",
                "HEALTH_CHECK_RISE", "0",
                "HEALTH_CHECK_FALL", "1000",
                "CONNECT_TIMEOUT", "0",
                "IDLE_TIMEOUT", "0s")));
        List<String> p = e.problems();
        assertEquals(5, p.size(), p.toString());
        assertTrue(p.contains("LB_RETRIES=\"101\": expected a whole number from 0 to 100"), p.toString());
        assertTrue(p.contains("HEALTH_CHECK_RISE=\"0\": expected a whole number from 1 to 100"), p.toString());
        assertTrue(p.contains("HEALTH_CHECK_FALL=\"1000\": expected a whole number from 1 to 100"), p.toString());
        assertTrue(p.contains("CONNECT_TIMEOUT=\"0\": must be more than 0"), p.toString());
        assertTrue(p.contains("IDLE_TIMEOUT=\"0s\": must be more than 0"), p.toString());
    }

    @Test
    void noBackendIsAnErrorThatSaysWhatToSet() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of()));
        assertTrue(e.getMessage().contains("BACKEND_SERVERS is not set"), e.getMessage());
    }

    @Test
    void hostNamesWithUnderscoresAreBackendsAsComposeNamesServices() throws Exception {
        BackendSpec b = load(Map.of("BACKEND_SERVERS", "moosicbox_server:8001 weight=2,http://other_one")).clusters().get(0).backends().get(0);
        assertEquals("http://moosicbox_server:8001", b.url().toString());
        assertEquals("moosicbox_server:8001", b.address());
        assertEquals(new HostPort("other_one", 80), HostPort.of(load(Map.of("BACKEND_SERVERS", "http://other_one")).clusters().get(0).backends().get(0).url()));
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "https://moosicbox_server")));
        assertTrue(e.getMessage().contains("a host name with '_' cannot be in a TLS certificate"), e.getMessage());
    }

    @Test
    void durationsAreBoundedSoThatNothingOverflowsLater() throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1",
                "HEALTH_CHECK_INTERVAL", "999999999d", "LB_QUEUE_TIMEOUT", "1001d")));
        assertTrue(e.problems().contains("HEALTH_CHECK_INTERVAL=\"999999999d\": at most 1000d"), e.problems().toString());
        assertTrue(e.problems().contains("LB_QUEUE_TIMEOUT=\"1001d\": at most 1000d"), e.problems().toString());
        assertEquals(Duration.ofDays(1000), load(Map.of("BACKEND_SERVERS", "a:1", "HEALTH_CHECK_INTERVAL", "1000d")).clusters().get(0).healthCheck().interval());
    }

    /** A certificate check every millisecond kept 16 % of a core busy; an HSTS max-age under 1 s went out as 0. */
    @Test
    void certificateChecksAndHstsHaveAFloor() throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1",
                "SSL_RELOAD_INTERVAL", "1ms", "SSL_HSTS_MAX_AGE", "500ms")));
        assertTrue(e.problems().contains("SSL_RELOAD_INTERVAL=\"1ms\": expected 0 (off) or at least 100ms"), e.problems().toString());
        assertTrue(e.problems().contains("SSL_HSTS_MAX_AGE=\"500ms\": expected 0 (off) or at least 1s"), e.problems().toString());
        LbConfig ok = load(Map.of("BACKEND_SERVERS", "a:1", "SSL_RELOAD_INTERVAL", "0", "SSL_HSTS_MAX_AGE", "2s", "SSL_REDIRECT_PORT", "443"));
        assertEquals(Duration.ZERO, ok.tls().reloadInterval());
        assertEquals(Duration.ofSeconds(2), ok.tls().hstsMaxAge());
        assertEquals(443, ok.tls().redirectPort());
    }

    @Test
    void anEmptyBackendOrClustersVariableIsAnErrorNamingIt() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "")));
        assertEquals(List.of("BACKEND_SERVERS=\"\": empty; expected URL [weight=N] [max_conns=N], comma-separated, "
                + "such as BACKEND_SERVERS=\"http://127.0.0.1:8001\", or leave the variable out"), e.problems());
        e = assertThrows(ConfigException.class, () -> load(Map.of("CLUSTERS", "")));
        assertEquals(List.of("CLUSTERS=\"\": empty; expected names:backends;names:backends, such as CLUSTERS=\"*:127.0.0.1:8001\", "
                + "or leave the variable out"), e.problems());
        e = assertThrows(ConfigException.class, () -> load(Map.of("CLUSTERS", "", "BACKEND_SERVERS", "10.0.0.1:80")));
        assertEquals(1, e.problems().size(), e.problems().toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "10.0.0.1:8001 weight=0       | weight='0'",
        "10.0.0.1:8001 weight=x       | weight='x'",
        "10.0.0.1:8001 max_conns=-1   | max_conns='-1'",
        "10.0.0.1:8001 speed=9        | unknown backend option 'speed=9'",
        "10.0.0.1:8001 weight=5 max_conns=9 weight=1 | weight=1' after 'weight=5': weight is given twice for 10.0.0.1:8001; give it once",
        "10.0.0.1:8001 max_conns=1 MAX_CONNS=1 | MAX_CONNS=1' after 'max_conns=1': max_conns is given twice",
        "10.0.0.1:8001 resolve=5s resolve=0 | resolve=0' after 'resolve=5s'",
        "http://10.0.0.1:8001/api     | has a path",
        "http://:8001                 | no host",
        "::1:8080                     | ::1:8080': write an IPv6 address in brackets, such as [::1]:8080",
        "http://2001:db8::1:8001      | write an IPv6 address in brackets",
        "fe80::1                      | write an IPv6 address in brackets",
        "http://user:pw@10.0.0.1:8001 | has a path, query, fragment or user",
        "10.0.0.1:8001;10.0.0.2:8001  | 10.0.0.1:8001;10.0.0.2:8001': separate backends with commas, not ';'",
        "http://10.0.0.1:8001 http://10.0.0.2:8001 | http://10.0.0.2:8001' after http://10.0.0.1:8001: separate backends with commas",
        "10.0.0.1:8001 10.0.0.2:8001  | 10.0.0.2:8001' after 10.0.0.1:8001: separate backends with commas",
        "10.0.0.1:8001,10.0.0.1:8001  | listed twice",
        "' , '                        | no backend listed"})
    void badBackendEntriesAreNamed(String value, String expected) {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", value)));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void theUsualWordsForOffTurnTheAccessLogOff() throws Exception {
        for (String off : List.of("off", "OFF", "none", "false", "no", "0")) {
            assertEquals(false, load(Map.of("BACKEND_SERVERS", "a:1", "ACCESS_LOG", off)).accessLog().enabled(), off);
        }
        assertEquals("./none", load(Map.of("BACKEND_SERVERS", "a:1", "ACCESS_LOG", "./none")).accessLog().target());
    }

    /** A problem found after parsing quotes what the user wrote (SSL_REDIRECT_HTTP=1 was reported as =true), or the file's key. */
    @Test
    void tlsProblemsQuoteTheVariableAsWrittenOrNameTheFilesKey(@TempDir Path dir) throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1", "SSL_REDIRECT_HTTP", "1")));
        assertEquals(List.of("SSL_REDIRECT_HTTP=\"1\" needs a certificate: set SSL_CERT_PATH and SSL_KEY_PATH (tls.certificates in the file)"),
                e.problems());
        e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1",
                "BACKEND_TLS_INSECURE", "yes", "BACKEND_CA_FILE", "/etc/ca.pem")));
        assertEquals(List.of("BACKEND_TLS_INSECURE=\"yes\" and BACKEND_CA_FILE=\"/etc/ca.pem\" contradict each other: "
                + "verify against the CA file, or skip verification"), e.problems());

        Path file = Files.writeString(dir.resolve("lb.yaml"), """
                tls:
                  redirect_http: true
                  backends: { insecure_skip_verify: true }
                clusters:
                  - name: default
                    backends: [http://127.0.0.1:1]
                """);
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of("BACKEND_CA_FILE", "/etc/ca.pem")));
        assertEquals(List.of(
                "tls.backends.insecure_skip_verify: true in the file and BACKEND_CA_FILE=\"/etc/ca.pem\" contradict each other: "
                        + "verify against the CA file, or skip verification",
                "tls.redirect_http: true in the file needs a certificate: set SSL_CERT_PATH and SSL_KEY_PATH (tls.certificates in the file)"),
                e.problems());
    }

    /** Half a certificate pair names the variable the user set (the MoosicBox SSL_CRT_PATH too) and its value. */
    @Test
    void halfACertificatePairNamesTheVariableThatWasSet() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1",
                "SSL_CRT_PATH", "/etc/pingora/ssl/tls.crt")));
        assertEquals(List.of("SSL_CRT_PATH=\"/etc/pingora/ssl/tls.crt\" is set but SSL_KEY_PATH is not: both are needed to turn TLS on"),
                e.problems());
        e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1", "SSL_KEY_PATH", "key.pem")));
        assertEquals(List.of("SSL_KEY_PATH=\"key.pem\" is set but SSL_CERT_PATH is not: both are needed to turn TLS on"),
                e.problems());
        e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1",
                "SSL_CRT_PATH", "a.crt,b.crt", "SSL_KEY_PATH", "a.key")));
        assertEquals(List.of("SSL_CRT_PATH=\"a.crt,b.crt\" lists 2 certificate(s) but SSL_KEY_PATH=\"a.key\" 1 key(s): "
                + "they pair up by position, comma-separated"), e.problems());
    }

    @Test
    void theAdminListenerCannotShareAProxyListenersAddress() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1",
                "BIND_ADDRESS", "127.0.0.1:8080", "ADMIN_BIND_ADDRESS", "127.0.0.1:8080")));
        assertTrue(e.getMessage().contains("ADMIN_BIND_ADDRESS=\"127.0.0.1:8080\": the same address as a proxy listener "
                + "(BIND_ADDRESS=\"127.0.0.1:8080\")"), e.getMessage());
    }

    /** Each listener is named by what set it: the variable, the file's key or the default, never a variable nobody set. */
    @Test
    void listenerProblemsNameWhereTheAddressCameFrom(@TempDir Path dir) throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1",
                "ADMIN_BIND_ADDRESS", "0.0.0.0:80")));
        assertEquals(List.of("ADMIN_BIND_ADDRESS=\"0.0.0.0:80\": the same address as a proxy listener (BIND_ADDRESS=0.0.0.0:80 "
                + "(the default)); give the admin listener its own port, such as 127.0.0.1:9090"), e.problems());
        Path file = Files.writeString(dir.resolve("lb.yaml"), """
                listeners: { http: 127.0.0.1:8080, admin: 127.0.0.1:8080 }
                clusters: [{ name: d, backends: [a:1] }]
                """);
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
        assertEquals(List.of("listeners.admin: 127.0.0.1:8080 in the file: the same address as a proxy listener (listeners.http: "
                + "127.0.0.1:8080 in the file); give the admin listener its own port, such as 127.0.0.1:9090"), e.problems());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of("PORT", "9090", "ADMIN_BIND_ADDRESS", "0.0.0.0:9090")));
        assertTrue(e.problems().getFirst().startsWith("ADMIN_BIND_ADDRESS=\"0.0.0.0:9090\": the same address as a proxy listener "
                + "(PORT=\"9090\")"), e.problems().toString());
    }

    @ParameterizedTest
    @CsvSource({
        "moosicbox_load_balancer=debug, debug",
        "'info,moosicbox_load_balancer=trace', trace",
        "warn, warn",
        "moosicbox_lb, trace",
        "'hyper=debug', info",
        "'info,hyper=off', info",
        "off, error",
        "'moosicbox_load_balancer=warn,moosicbox_middleware=trace', warn",
        "'moosicbox_middleware=trace,moosicbox_load_balancer=warn', warn",
        "'moosicbox_middleware=debug', debug",
        "'info,hyper', info",
        "'hyper,moosicbox_load_balancer=debug', debug"})
    void rustLogSetsOurLevel(String rustLog, String level) throws Exception {
        assertEquals(level, load(Map.of("BACKEND_SERVERS", "a:1", "RUST_LOG", rustLog)).logLevel());
    }

    /** Alone, a word that is no level is a typo, not another crate's target. */
    @Test
    void aRustLogThatIsOnlyAWordIsRefused() {
        ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1", "RUST_LOG", "warning")));
        assertTrue(e.getMessage().contains("RUST_LOG=\"warning\""), e.getMessage());
    }

    /** Values that looked valid and were not: each one sent traffic nowhere, or trusted another address. */
    @Test
    void valuesThatWouldMisdirectAreRefused() {
        for (String backends : new String[] {"127.0.0.1:0", "127.0.0.1:", "http://a.example.com:/"}) {
            ConfigException e = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", backends)), backends);
            assertTrue(e.getMessage().contains("no port number after ':'"), e.getMessage());
        }
        ConfigException fragment = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "http://127.0.0.1:8001#x")));
        assertTrue(fragment.getMessage().contains("has a path, query, fragment or user"), fragment.getMessage());
        ConfigException path = assertThrows(ConfigException.class, () -> load(Map.of("BACKEND_SERVERS", "a:1", "HEALTH_CHECK_PATH", "/he alth")));
        assertTrue(path.getMessage().contains("HEALTH_CHECK_PATH=\"/he alth\": not a valid URI path"), path.getMessage());
        for (String proxies : new String[] {"10.1", "1.2.3", "10.1/8"}) {
            ConfigException e = assertThrows(ConfigException.class, () -> ListenerLimits.fromEnv(Map.of("TRUSTED_PROXIES", proxies)), proxies);
            assertTrue(e.getMessage().contains("TRUSTED_PROXIES=\"" + proxies + "\""), e.getMessage());
        }
    }

    /** A trailing space, as an env file or a Kubernetes value easily carries, is trimmed like every other variable's. */
    @Test
    void aHealthCheckPathIsTrimmed() throws Exception {
        assertEquals("/health", load(Map.of("BACKEND_SERVERS", "a:1", "HEALTH_CHECK_PATH", "/health ")).clusters().get(0).healthCheck().path());
    }

    @Test
    void logLevelWinsOverRustLog() throws Exception {
        assertEquals("error", load(Map.of("BACKEND_SERVERS", "a:1", "RUST_LOG", "debug", "LOG_LEVEL", "ERROR")).logLevel());
    }

    @Test
    void clusterWideVariablesApply() throws Exception {
        ClusterConfig c = load(Map.of("BACKEND_SERVERS", "a:1", "HEALTH_CHECK_PATH", "/health",
                "HEALTH_CHECK_INTERVAL", "250ms")).clusters().get(0);
        assertEquals("/health", c.healthCheck().path());
        assertEquals(Duration.ofMillis(250), c.healthCheck().interval());
    }
}
