package io.moosicbox.lb.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.ConfigException;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import io.moosicbox.lb.server.ReloadResult;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TLS listener end to end: real balancer, real backend, openssl- and curl-made traffic. */
class TlsListenerTest {
    @TempDir
    Path dir;
    private EchoBackend backend;
    private final List<LoadBalancer> started = new ArrayList<>();

    @BeforeAll
    static void tools() {
        Tools.require("openssl");
        Tools.require("curl");
    }

    @BeforeEach
    void backend() throws Exception {
        backend = new EchoBackend();
    }

    @AfterEach
    void stop() throws Exception {
        for (LoadBalancer lb : started) {
            lb.stop();
        }
        backend.close();
    }

    private LoadBalancer start(Map<String, String> env) throws Exception {
        LoadBalancer lb = new LoadBalancer(config(env));
        started.add(lb);
        lb.start();
        return lb;
    }

    private LbConfig config(Map<String, String> env) throws ConfigException {
        Map<String, String> all = new HashMap<>(Map.of(
                "BIND_ADDRESS", "127.0.0.1:0",
                "SSL_BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0",
                "BACKEND_SERVERS", backend.url()));
        all.putAll(env);
        return EnvConfig.load(EnvConfig.defaults(), all);
    }

    private static Map<String, String> certEnv(TestCerts.Pair... pairs) {
        List<String> certs = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (TestCerts.Pair p : pairs) {
            certs.add(p.cert().toString());
            keys.add(p.key().toString());
        }
        return new HashMap<>(Map.of("SSL_CERT_PATH", String.join(",", certs), "SSL_KEY_PATH", String.join(",", keys)));
    }

    @Test
    void everyKeyFormatIsServed() throws Exception {
        List<TestCerts.Pair> pairs = new ArrayList<>();
        for (TestCerts.KeyForm form : TestCerts.KeyForm.values()) {
            pairs.add(TestCerts.selfSigned(dir, name(form), form));
        }
        LoadBalancer lb = start(certEnv(pairs.toArray(TestCerts.Pair[]::new)));
        for (TestCerts.KeyForm form : TestCerts.KeyForm.values()) {
            String host = name(form);
            String out = Tools.ok(null, "curl", "-sS", "--cacert", pairs.get(form.ordinal()).ca().toString(),
                    "--resolve", host + ":" + lb.tlsPort() + ":127.0.0.1", "https://" + host + ":" + lb.tlsPort() + "/format");
            assertTrue(out.contains("path=/format"), form + ": " + out);
            assertEquals(host, lb.certificates().get(form.ordinal()).name());
        }
    }

    private static String name(TestCerts.KeyForm form) {
        return form.name().toLowerCase().replace('_', '-') + ".test";
    }

    @Test
    void theSeedsSelfSignedCommandWorksAsWritten() throws Exception {
        // README: openssl req -x509 -newkey rsa:4096 -keyout key.pem -out cert.pem -days 365 -nodes (-subj: no prompts)
        Tools.ok(dir, "openssl", "req", "-x509", "-newkey", "rsa:4096", "-keyout", "key.pem", "-out", "cert.pem",
                "-days", "365", "-nodes", "-subj", "/CN=localhost");
        LoadBalancer lb = start(Map.of("SSL_CERT_PATH", dir.resolve("cert.pem").toString(), "SSL_KEY_PATH", dir.resolve("key.pem").toString()));
        String out = Tools.ok(null, "curl", "-sS", "-k", "https://127.0.0.1:" + lb.tlsPort() + "/seed");
        assertTrue(out.contains("path=/seed"), out);
    }

    @Test
    void h2AndHttp11OverTlsWithAnIntermediateChainAndForwardedHeaders() throws Exception {
        TestCerts.Pair chain = TestCerts.chain(dir, "music.test");
        LoadBalancer lb = start(certEnv(chain));
        int port = lb.tlsPort();
        List<String> curl = List.of("curl", "-sS", "--cacert", chain.ca().toString(), "--resolve", "music.test:" + port + ":127.0.0.1",
                "-w", "%{http_version}\n");
        String h2 = Tools.ok(null, Tools.concat(curl, "--http2", "https://music.test:" + port + "/a?b=1"));
        assertTrue(h2.endsWith("\n2\n"), h2);
        assertTrue(h2.contains("proto=https port=" + port + " host=music.test:" + port + " path=/a?b=1"), h2);
        String h1 = Tools.ok(null, Tools.concat(curl, "--http1.1", "https://music.test:" + port + "/c"));
        assertTrue(h1.endsWith("\n1.1\n"), h1);
        assertTrue(h1.contains("proto=https port=" + port), h1);

        // By IP address, no SNI: the default certificate and an answer, not "400 Invalid SNI".
        String byIp = Tools.ok(null, "curl", "-sS", "-k", "-w", "%{http_code}", "https://127.0.0.1:" + port + "/ip");
        assertTrue(byIp.endsWith("200"), byIp);

        // Plain listener: h2c by prior knowledge and by Upgrade, and X-Forwarded-Proto http.
        String prior = Tools.ok(null, "curl", "-sS", "-w", "%{http_version}", "--http2-prior-knowledge", "http://127.0.0.1:" + lb.proxyPort() + "/p");
        assertTrue(prior.contains("proto=http port=" + lb.proxyPort()) && prior.endsWith("2"), prior);
        String upgrade = Tools.ok(null, "curl", "-sS", "-w", "%{http_version}", "--http2", "http://127.0.0.1:" + lb.proxyPort() + "/u");
        assertTrue(upgrade.contains("path=/u") && upgrade.endsWith("2"), upgrade);

        // TLS 1.2 with an "intermediate" cipher works; a CBC-SHA1 RSA-kex suite is refused; TLS 1.3 works.
        assertTrue(sClient(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256").exit() == 0);
        assertFalse(sClient(port, "-tls1_2", "-cipher", "AES128-SHA").exit() == 0);
        assertTrue(sClient(port, "-tls1_3").out().contains("TLSv1.3"));
    }

    @Test
    void sniPicksTheCertificateAndTheFirstIsTheDefault() throws Exception {
        TestCerts.Pair a = TestCerts.selfSigned(dir.resolve("a"), "a.test", TestCerts.KeyForm.RSA_PKCS8);
        TestCerts.Pair b = TestCerts.selfSigned(dir.resolve("b"), "b.test", TestCerts.KeyForm.EC_SEC1);
        TestCerts.Pair c = TestCerts.selfSigned(dir.resolve("c"), "c.test", TestCerts.KeyForm.RSA_PKCS1);
        LoadBalancer lb = start(certEnv(a, b, c));
        int port = lb.tlsPort();
        assertTrue(sClient(port, "-servername", "b.test").out().contains("CN = b.test"));
        assertTrue(sClient(port, "-servername", "c.test").out().contains("CN = c.test"));
        assertTrue(sClient(port, "-servername", "a.test").out().contains("CN = a.test"));
        assertTrue(sClient(port, "-servername", "unknown.test").out().contains("CN = a.test"));
        assertTrue(sClient(port, "-noservername").out().contains("CN = a.test"));
        assertEquals(List.of("a.test", "b.test", "c.test"), lb.certificates().stream().map(CertificateInfo::name).toList());
    }

    /**
     * The audit's case: with certificates [default, *.example.test, example.test + *.example.test]
     * the bare name was served the wildcard-only certificate when that one came first, because
     * Jetty's matching lets a wildcard cover its own domain.
     */
    @Test
    void anExactNameWinsAndAWildcardCoversOneLabelOnlyWhateverTheOrder() throws Exception {
        TestCerts.Pair music = TestCerts.selfSigned(dir.resolve("music"), "music.test", TestCerts.KeyForm.EC_SEC1);
        TestCerts.Pair wild = TestCerts.withNames(dir.resolve("wild"), "wild", "*.example.test");
        TestCerts.Pair apexWild = TestCerts.withNames(dir.resolve("apexwild"), "apexwild", "example.test", "*.example.test");
        for (List<TestCerts.Pair> order : List.of(List.of(music, wild, apexWild), List.of(music, apexWild, wild))) {
            String names = order.stream().map(p -> p.cert().getFileName().toString()).toList().toString();
            LoadBalancer lb = start(certEnv(order.toArray(TestCerts.Pair[]::new)));
            int port = lb.tlsPort();
            assertEquals(leaf(apexWild), serverCertificate(port, "example.test"), names + ": example.test");
            assertEquals(leaf(apexWild), serverCertificate(port, "EXAMPLE.Test"), names + ": names compare without case");
            // Both wildcards cover a.example.test: the one listed first serves.
            assertEquals(leaf(order.get(1)), serverCertificate(port, "a.example.test"), names + ": a.example.test");
            // One label only: nothing covers a.b.example.test, so the default serves.
            assertEquals(leaf(music), serverCertificate(port, "a.b.example.test"), names + ": a.b.example.test");
            String out = Tools.ok(null, "curl", "-sS", "--cacert", apexWild.ca().toString(), "--resolve", "example.test:" + port + ":127.0.0.1",
                    "https://example.test:" + port + "/apex");
            assertTrue(out.contains("path=/apex"), names + ": " + out);
        }
    }

    private static X509Certificate leaf(TestCerts.Pair pair) throws Exception {
        return PemFiles.certificates(pair.cert(), Files.readAllBytes(pair.cert())).get(0);
    }

    private static Tools.Run sClient(int port, String... options) {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port));
        command.addAll(List.of(options));
        return Tools.run(null, "", command.toArray(String[]::new));
    }

    /** Let's Encrypt's layout: live/ files are symlinks that renewal re-points into archive/. */
    @Test
    void renewedCertificateServesNewHandshakesWhileOpenConnectionsKeepWorking() throws Exception {
        Path archive = Files.createDirectories(dir.resolve("archive"));
        Path live = Files.createDirectories(dir.resolve("live"));
        TestCerts.Pair first = TestCerts.selfSigned(dir.resolve("gen1"), "music.test", TestCerts.KeyForm.EC_PKCS8);
        Files.copy(first.cert(), archive.resolve("fullchain1.pem"));
        Files.copy(first.key(), archive.resolve("privkey1.pem"));
        Path fullchain = live.resolve("fullchain.pem");
        Path privkey = live.resolve("privkey.pem");
        Files.createSymbolicLink(fullchain, Path.of("../archive/fullchain1.pem"));
        Files.createSymbolicLink(privkey, Path.of("../archive/privkey1.pem"));
        LoadBalancer lb = start(Map.of("SSL_CERT_PATH", fullchain.toString(), "SSL_KEY_PATH", privkey.toString(),
                "SSL_RELOAD_INTERVAL", "100ms"));
        X509Certificate firstServed = serverCertificate(lb.tlsPort());

        try (SSLSocket held = connect(lb.tlsPort())) {
            assertTrue(get(held, "/before").contains("path=/before"));
            assertEquals(firstServed, held.getSession().getPeerCertificates()[0]);

            TestCerts.Pair second = TestCerts.selfSigned(dir.resolve("gen2"), "music.test", TestCerts.KeyForm.RSA_PKCS1);
            Files.copy(second.cert(), archive.resolve("fullchain2.pem"));
            Files.copy(second.key(), archive.resolve("privkey2.pem"));
            repoint(privkey, "../archive/privkey2.pem");
            repoint(fullchain, "../archive/fullchain2.pem");
            TestBalancer.await("the renewed certificate to be served", Duration.ofSeconds(10), () -> !serverCertificate(lb.tlsPort()).equals(firstServed));
            X509Certificate secondServed = serverCertificate(lb.tlsPort());
            assertEquals(Files.readString(second.cert()).strip(), pem(secondServed).strip());

            // The connection opened before the renewal still works.
            assertTrue(get(held, "/after").contains("path=/after"));

            // A broken replacement is refused, named, and the renewed certificate stays.
            Files.writeString(archive.resolve("privkey3.pem"), "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n");
            repoint(privkey, "../archive/privkey3.pem");
            ReloadResult refused = lb.reload();
            assertFalse(refused.applied());
            assertTrue(refused.problems().get(0).contains(privkey.toString()), refused.problems().toString());
            assertEquals(secondServed, serverCertificate(lb.tlsPort()));
            // A key that belongs to another certificate is refused too.
            repoint(privkey, "../archive/privkey1.pem");
            refused = lb.reload();
            assertTrue(refused.problems().get(0).contains("does not belong"), refused.problems().toString());
            assertEquals(secondServed, serverCertificate(lb.tlsPort()));
            assertTrue(get(held, "/still").contains("path=/still"));
        }
    }

    /**
     * The audit's case: the API's key went missing, then the music certificate was renewed, and
     * the old music certificate stayed (all pairs were refused for the one broken pair) until it
     * would have expired.
     */
    @Test
    void aBrokenPairKeepsItsCertificateWhileTheOtherPairsAreRenewed() throws Exception {
        TestCerts.Pair music = TestCerts.selfSigned(dir.resolve("music"), "music.test", TestCerts.KeyForm.EC_SEC1);
        TestCerts.Pair api = TestCerts.selfSigned(dir.resolve("api"), "api.test", TestCerts.KeyForm.EC_SEC1);
        Map<String, String> env = certEnv(music, api);
        env.put("SSL_RELOAD_INTERVAL", "100ms");
        LoadBalancer lb = start(env);
        int port = lb.tlsPort();
        assertEquals(leaf(api), serverCertificate(port, "api.test"));

        Files.delete(api.key());
        TestCerts.Pair renewed = TestCerts.selfSigned(dir.resolve("renewed"), "music.test", TestCerts.KeyForm.RSA_PKCS8);
        replace(music.key(), renewed.key());
        replace(music.cert(), renewed.cert());
        X509Certificate renewedLeaf = leaf(renewed);
        TestBalancer.await("the renewed music certificate to be served", Duration.ofSeconds(10),
                () -> serverCertificate(port, "music.test").equals(renewedLeaf));
        assertEquals(leaf(api), serverCertificate(port, "api.test"), "the broken pair serves its previous certificate");
        assertEquals(List.of("music.test", "api.test"), lb.certificates().stream().map(CertificateInfo::name).toList());

        // A reload names the broken file, and only that one.
        ReloadResult reload = lb.reload();
        assertEquals(1, reload.problems().size(), reload.problems().toString());
        assertTrue(reload.problems().get(0).startsWith(api.key() + ": cannot read"), reload.problems().toString());
        assertEquals(renewedLeaf, serverCertificate(port, "music.test"));

        // At start there is nothing to fall back on: still a configuration error.
        assertProblem(env, "SSL_KEY_PATH=\"" + api.key() + "\": cannot read (no such file)");
        IllegalArgumentException atStart = assertThrows(IllegalArgumentException.class,
                () -> new LoadBalancer(config(env)));
        assertTrue(atStart.getMessage().contains(api.key().toString()), atStart.getMessage());
    }

    /**
     * The audit's case: a writer that rewrites fullchain.pem in place had written the new leaf but
     * not yet its intermediate when a poll ran, and the leaf alone (which the new key matches)
     * was served until the next poll. The polls are run by the test, so their timing is exact.
     */
    @Test
    void aFullchainWrittenInPlaceIsServedOnlyOnceTwoPollsReadItTheSame() throws Exception {
        TestCerts.Pair first = TestCerts.chain(dir.resolve("gen1"), "music.test");
        TestCerts.Pair second = TestCerts.chain(dir.resolve("gen2"), "music.test");
        Path fullchain = Files.copy(first.cert(), dir.resolve("fullchain.pem"));
        Path privkey = Files.copy(first.key(), dir.resolve("privkey.pem"));
        LbConfig config = config(Map.of("SSL_CERT_PATH", fullchain.toString(), "SSL_KEY_PATH", privkey.toString(),
                "SSL_RELOAD_INTERVAL", "0"));
        org.eclipse.jetty.server.Server server = new org.eclipse.jetty.server.Server();
        TlsListener listener = new TlsListener(server, 1, new org.eclipse.jetty.server.HttpConfiguration(),
                config.listeners().https(), config.tls());
        server.addConnector(listener.connector());
        server.addBean(listener);
        server.start();
        try {
            int port = listener.connector().getLocalPort();
            List<X509Certificate> before = servedChain(port);
            assertEquals(2, before.size());

            String secondChain = Files.readString(second.cert());
            String end = "-----END CERTIFICATE-----\n";
            String secondLeafOnly = secondChain.substring(0, secondChain.indexOf(end) + end.length());
            Files.write(privkey, Files.readAllBytes(second.key()));
            Files.writeString(fullchain, secondLeafOnly);
            listener.reloadIfChanged();
            assertEquals(before, servedChain(port), "the leaf without its intermediate must not be served");
            Files.writeString(fullchain, secondChain);
            listener.reloadIfChanged();
            assertEquals(before, servedChain(port), "changed since the previous poll: not settled yet");
            listener.reloadIfChanged();
            assertEquals(PemFiles.certificates(second.cert(), Files.readAllBytes(second.cert())), servedChain(port),
                    "read the same twice: served whole");
        } finally {
            server.stop();
        }
    }

    private static List<X509Certificate> servedChain(int port) throws Exception {
        try (SSLSocket socket = connect(port)) {
            return java.util.Arrays.stream(socket.getSession().getPeerCertificates()).map(c -> (X509Certificate) c).toList();
        }
    }

    @Test
    void badFilesAreConfigurationErrorsNamingTheFile() throws Exception {
        TestCerts.Pair a = TestCerts.selfSigned(dir.resolve("a"), "a.test", TestCerts.KeyForm.EC_SEC1);
        TestCerts.Pair b = TestCerts.selfSigned(dir.resolve("b"), "b.test", TestCerts.KeyForm.EC_SEC1);
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "hello\n");
        Path missing = dir.resolve("missing.pem");

        // Each names its variable and file key, the value and what is wrong, as every configuration error does.
        assertProblem(Map.of("SSL_CERT_PATH", a.cert().toString(), "SSL_KEY_PATH", b.key().toString()),
                "SSL_KEY_PATH=\"" + b.key() + "\": this private key does not belong to the first certificate of "
                        + a.cert());
        assertProblem(Map.of("SSL_CERT_PATH", missing.toString(), "SSL_KEY_PATH", a.key().toString()),
                "SSL_CERT_PATH=\"" + missing + "\": cannot read (no such file)");
        assertProblem(Map.of("SSL_CERT_PATH", garbage.toString(), "SSL_KEY_PATH", a.key().toString()),
                "SSL_CERT_PATH=\"" + garbage + "\": no PEM certificate");
        assertProblem(Map.of("SSL_CERT_PATH", a.cert().toString(), "SSL_KEY_PATH", a.cert().toString()),
                "SSL_KEY_PATH=\"" + a.cert() + "\": no PEM private key");
        assertProblem(Map.of("SSL_CERT_PATH", a.cert() + "," + missing, "SSL_KEY_PATH", a.key() + "," + b.key()),
                "SSL_CERT_PATH=\"" + missing + "\": cannot read (no such file)");
        assertProblem(Map.of("SSL_CRT_PATH", missing.toString(), "SSL_KEY_PATH", a.key().toString()),
                "SSL_CRT_PATH=\"" + missing + "\": cannot read (no such file)");
        assertProblem(Map.of("SSL_CRT_PATH", a.cert().toString()), "SSL_CRT_PATH=\"" + a.cert() + "\" is set but SSL_KEY_PATH is not");
        assertProblem(Map.of("SSL_REDIRECT_HTTP", "yes please"), "SSL_REDIRECT_HTTP=\"yes please\"");
        assertProblem(Map.of("BACKEND_CA_FILE", missing.toString()),
                "BACKEND_CA_FILE=\"" + missing + "\": cannot read (no such file)");

        // SSL_CRT_PATH is the MoosicBox name of SSL_CERT_PATH; SSL_PORT places the listener on 0.0.0.0.
        LbConfig ok = EnvConfig.load(EnvConfig.defaults(), Map.of("BACKEND_SERVERS", "127.0.0.1:1",
                "SSL_CRT_PATH", a.cert().toString(), "SSL_KEY_PATH", a.key().toString(), "SSL_PORT", "8443"));
        assertEquals("0.0.0.0:8443", ok.listeners().https().toString());
        assertEquals(null, EnvConfig.load(EnvConfig.defaults(), Map.of("BACKEND_SERVERS", "127.0.0.1:1", "SSL_PORT", "8443")).listeners().https());
    }

    @Test
    void theFileSetsEveryTlsKeyAndVariablesOverrideSingleOnes() throws Exception {
        TestCerts.Pair a = TestCerts.selfSigned(dir, "a.test", TestCerts.KeyForm.EC_SEC1);
        Path file = Files.writeString(dir.resolve("lb.yaml"), """
                tls:
                  certificates:
                    - cert: %s
                      key: %s
                  redirect_http: true
                  hsts_max_age: 1h
                  reload_interval: 1m
                  backends: { ca_file: %s, http2: true }
                clusters:
                  - name: default
                    backends: [http://127.0.0.1:1]
                """.formatted(a.cert(), a.key(), a.ca()));
        LbConfig c = io.moosicbox.lb.config.ConfigLoader.load(file, Map.of("SSL_RELOAD_INTERVAL", "0"));
        assertEquals(new LbConfig.TlsConfig(List.of(new LbConfig.CertificatePair(a.cert().toString(), a.key().toString())), true,
                java.time.Duration.ofHours(1), java.time.Duration.ZERO, new LbConfig.BackendTls(a.ca().toString(), false, true)), c.tls());
        assertEquals("0.0.0.0:443", c.listeners().https().toString());
        assertEquals(List.of(), CertificateFiles.check(c));

        // A file's value is named by its key, not by a variable nobody set.
        Path missing = dir.resolve("missing.pem");
        Files.writeString(file, """
                tls:
                  certificates: [{ cert: %s, key: %s }]
                  backends: { ca_file: %s }
                clusters: [{ name: default, backends: [http://127.0.0.1:1] }]
                """.formatted(a.cert(), missing, missing));
        assertEquals(List.of("tls.certificates[0].key: " + missing + " in the file: cannot read (no such file)",
                "tls.backends.ca_file: " + missing + " in the file: cannot read (no such file)"),
                CertificateFiles.check(io.moosicbox.lb.config.ConfigLoader.load(file, Map.of())));
    }

    /** A bad variable fails the configuration; a bad file fails the check made before the listeners start. */
    private void assertProblem(Map<String, String> env, String expected) {
        List<String> problems;
        try {
            problems = CertificateFiles.check(config(env));
        } catch (ConfigException e) {
            problems = e.problems();
        }
        assertTrue(problems.stream().anyMatch(p -> p.startsWith(expected)), "expected '" + expected + "' in " + problems);
    }

    @Test
    void anExpiredCertificateIsStillServedAndItsExpiryIsExposed() throws Exception {
        TestCerts.Pair expired = TestCerts.expired(dir, "old.test");
        LoadBalancer lb = start(certEnv(expired));
        assertTrue(lb.certificates().get(0).expired(Instant.now()));
        String out = Tools.ok(null, "curl", "-sS", "-k", "https://127.0.0.1:" + lb.tlsPort() + "/old");
        assertTrue(out.contains("path=/old"), out);
    }

    /** RFC 9110 7.8: an Upgrade without the upgrade connection option is ignored here too, not a 400. */
    @Test
    void anUpgradeWithoutTheConnectionOptionIsIgnored() throws Exception {
        LoadBalancer lb = start(certEnv(TestCerts.selfSigned(dir, "a.test", TestCerts.KeyForm.EC_SEC1)));
        String out = Tools.ok(null, "curl", "-sS", "-k", "--http1.1", "-H", "Upgrade: h2c", "-w", " %{http_code}",
                "https://127.0.0.1:" + lb.tlsPort() + "/u");
        assertTrue(out.contains("path=/u") && out.endsWith(" 200"), out);
    }

    @Test
    void redirectHttpAndHsts() throws Exception {
        TestCerts.Pair a = TestCerts.selfSigned(dir, "a.test", TestCerts.KeyForm.EC_SEC1);
        Map<String, String> env = certEnv(a);
        env.put("SSL_REDIRECT_HTTP", "true");
        env.put("SSL_HSTS_MAX_AGE", "365d");
        LoadBalancer lb = start(env);
        String redirect = Tools.ok(null, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-X", "POST",
                "http://a.test:" + lb.proxyPort() + "/x/y?z=1", "--resolve", "a.test:" + lb.proxyPort() + ":127.0.0.1");
        assertEquals("308 https://a.test:" + lb.tlsPort() + "/x/y?z=1", redirect);
        String upgrade = Tools.ok(null, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
                "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "http://a.test:" + lb.proxyPort() + "/ws", "--resolve", "a.test:" + lb.proxyPort() + ":127.0.0.1");
        assertEquals("308 https://a.test:" + lb.tlsPort() + "/ws", upgrade, "a WebSocket upgrade is redirected too");
        String acme = Tools.ok(null, "curl", "-sS", "-w", " %{http_code}", "http://127.0.0.1:" + lb.proxyPort() + "/.well-known/acme-challenge/token");
        assertTrue(acme.contains("proto=http") && acme.endsWith(" 200"), acme);
        String headers = Tools.ok(null, "curl", "-sS", "-k", "-D", "-", "-o", "/dev/null", "https://127.0.0.1:" + lb.tlsPort() + "/h");
        assertTrue(headers.toLowerCase().contains("strict-transport-security: max-age=31536000"), headers);
    }

    /**
     * Behind a port mapping (podman -p 443:8443, a Service) the redirect names the port clients
     * reach, not the listener's; and the balancer's own errors over TLS carry HSTS like the rest.
     */
    @Test
    void theRedirectPortIsSettableAndErrorsCarryHsts() throws Exception {
        TestCerts.Pair a = TestCerts.selfSigned(dir, "a.test", TestCerts.KeyForm.EC_SEC1);
        Map<String, String> env = certEnv(a);
        env.put("SSL_REDIRECT_HTTP", "true");
        env.put("SSL_REDIRECT_PORT", "443");
        env.put("SSL_HSTS_MAX_AGE", "1d");
        env.put("BACKEND_SERVERS", "http://127.0.0.1:" + io.moosicbox.lb.pool.TestBackend.refusingPort());
        LoadBalancer lb = start(env);
        String redirect = Tools.ok(null, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                "http://a.test:" + lb.proxyPort() + "/album?id=1", "--resolve", "a.test:" + lb.proxyPort() + ":127.0.0.1");
        assertEquals("308 https://a.test/album?id=1", redirect);
        String options = Tools.ok(null, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-X", "OPTIONS",
                "--request-target", "*", "http://127.0.0.1:" + lb.proxyPort());
        assertTrue(!options.startsWith("308"), "OPTIONS * has no URL to be sent to: " + options);
        String failed = Tools.ok(null, "curl", "-sS", "-k", "-D", "-", "-o", "/dev/null", "https://127.0.0.1:" + lb.tlsPort() + "/x");
        assertTrue(failed.startsWith("HTTP/2 502") && failed.toLowerCase().contains("strict-transport-security: max-age=86400"), failed);
    }

    @Test
    void httpsBackendsAreVerifiedAndMaySpeakHttp2() throws Exception {
        TestCerts.Pair chain = TestCerts.chain(dir, "backend.test");
        try (EchoBackend tlsBackend = new EchoBackend(chain)) {
            Map<String, String> env = new HashMap<>(Map.of("BACKEND_SERVERS", tlsBackend.url()));
            // Not in the system trust store: refused.
            LoadBalancer untrusted = start(env);
            assertEquals("502", Tools.ok(null, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:" + untrusted.proxyPort() + "/"));

            env.put("BACKEND_CA_FILE", chain.ca().toString());
            LoadBalancer trusted = start(env);
            String out = Tools.ok(null, "curl", "-sS", "http://127.0.0.1:" + trusted.proxyPort() + "/t");
            assertTrue(out.contains("version=HTTP/1.1") && out.contains("path=/t"), out);

            env.remove("BACKEND_CA_FILE");
            env.put("BACKEND_TLS_INSECURE", "true");
            env.put("BACKEND_HTTP2", "true");
            // Health checks trust the backend as the proxy does.
            env.put("HEALTH_CHECK_PATH", "/health");
            env.put("HEALTH_CHECK_INTERVAL", "50ms");
            LoadBalancer insecure = start(env);
            out = Tools.ok(null, "curl", "-sS", "http://127.0.0.1:" + insecure.proxyPort() + "/i");
            assertTrue(out.contains("version=HTTP/2.0") && out.contains("path=/i"), out);
            var checked = insecure.clusters().get(0).backends().get(0);
            TestBalancer.await("three health checks", Duration.ofSeconds(10), () -> checked.healthChecksPassed() + checked.healthChecksFailed() >= 3);
            assertEquals(0, checked.healthChecksFailed(), String.valueOf(checked.lastError()));
        }
    }

    @Test
    void h2loadOverTlsHasNoFailedRequest() throws Exception {
        Tools.require("h2load");
        TestCerts.Pair a = TestCerts.selfSigned(dir, "a.test", TestCerts.KeyForm.EC_SEC1);
        LoadBalancer lb = start(certEnv(a));
        String out = Tools.ok(null, "h2load", "-n", "2000", "-c", "4", "-m", "10", "https://127.0.0.1:" + lb.tlsPort() + "/load");
        assertTrue(out.contains("2000 succeeded, 0 failed, 0 errored"), out);
        assertTrue(out.contains("Application protocol: h2"), out);
    }

    // --- helpers --------------------------------------------------------------------------------

    /** Replaces {@code target} by a copy of {@code source} in one step, as a rename over it does. */
    private static void replace(Path target, Path source) throws Exception {
        Path tmp = target.resolveSibling(target.getFileName() + ".new");
        Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void repoint(Path link, String target) throws Exception {
        Path tmp = link.resolveSibling(link.getFileName() + ".new");
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, Path.of(target));
        Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }


    private static SSLSocket connect(int port) throws Exception {
        return connect(port, null);
    }

    private static SSLSocket connect(int port, String sniHost) throws Exception {
        SSLContext context = TestCerts.trustAll();
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
        if (sniHost != null) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(sniHost)));
            socket.setSSLParameters(parameters);
        }
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

    private static X509Certificate serverCertificate(int port) {
        return serverCertificate(port, null);
    }

    private static X509Certificate serverCertificate(int port, String sniHost) {
        try (SSLSocket socket = connect(port, sniHost)) {
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** One HTTP/1.1 request on a kept-alive connection; reads exactly the response's body. */
    private static String get(SSLSocket socket, String path) throws Exception {
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: music.test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        String status = in.readLine();
        int length = -1;
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        char[] body = new char[Math.max(length, 0)];
        int read = 0;
        while (read < body.length) {
            int n = in.read(body, read, body.length - read);
            if (n < 0) {
                break;
            }
            read += n;
        }
        return status + "\n" + new String(body, 0, read);
    }

    private static String pem(X509Certificate cert) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----";
    }
}
