package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's TLS setups with the tarball's bin/moosicbox_lb: openssl-made files, curl as the client. */
class TlsTest {
    @TempDir
    Path dir;

    private void openssl(String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = "openssl";
        System.arraycopy(args, 0, command, 1, args.length);
        Http.Result r = Http.run(command);
        assertEquals(0, r.exitCode(), "openssl " + String.join(" ", args) + ": " + r.stderr());
    }

    /** NAME.pem and NAME.key in the test's folder: an EC P-256 certificate for {@code commonName}, valid a day. */
    private void selfSigned(String name, String commonName) throws Exception {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", dir.resolve(name + ".key").toString(),
                "-out", dir.resolve(name + ".pem").toString(), "-days", "1", "-nodes", "-subj", "/CN=" + commonName);
    }

    @Test
    void selfSignedSetupServesHttp2AndHttp11AndTellsTheBackendItWasHttps() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        // The README's command, with the subject given instead of asked.
        openssl("req", "-x509", "-newkey", "rsa:2048", "-keyout", key.toString(), "-out", cert.toString(), "-days", "365",
                "-nodes", "-subj", "/CN=localhost");
        try (TestBackend backend = new TestBackend("a");
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", backend.url(), "SSL_BIND_ADDRESS", "127.0.0.1:0",
                     "SSL_CERT_PATH", cert.toString(), "SSL_KEY_PATH", key.toString()))) {
            String url = "https://localhost:" + lb.tlsPort() + "/headers";
            String resolve = "localhost:" + lb.tlsPort() + ":127.0.0.1";
            Http.Result h2 = Http.curl("--cacert", cert.toString(), "--resolve", resolve, "--http2", "-w", "\n%{http_version}", url);
            assertEquals(0, h2.exitCode(), h2.stderr());
            assertTrue(h2.stdout().endsWith("\n2"), h2.stdout());
            assertTrue(h2.stdout().contains("\"X-Forwarded-Proto\":\"https\""), h2.stdout());
            assertTrue(h2.stdout().contains("\"X-Forwarded-Port\":\"" + lb.tlsPort() + "\""), h2.stdout());
            Http.Result h1 = Http.curl("--cacert", cert.toString(), "--resolve", resolve, "--http1.1", "-w", "\n%{http_version}", url);
            assertTrue(h1.stdout().endsWith("\n1.1"), h1.stdout() + h1.stderr());
            assertEquals(0, lb.terminate(Duration.ofSeconds(30)));
        }
    }

    /**
     * Without a configuration file, a reload that finds a broken renewal is refused naming the
     * file, as the README says: it answered 200 with no problem, and only the log had a warning.
     */
    @Test
    void aReloadWithoutAFileRefusesABrokenRenewal() throws Exception {
        selfSigned("a", "localhost");
        selfSigned("b", "b");
        try (TestBackend backend = new TestBackend("a");
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", backend.url(), "SSL_BIND_ADDRESS", "127.0.0.1:0",
                     "SSL_CERT_PATH", dir.resolve("a.pem").toString(), "SSL_KEY_PATH", dir.resolve("a.key").toString(),
                     "SSL_RELOAD_INTERVAL", "0"))) {
            // The renewal wrote the key of another certificate.
            java.nio.file.Files.copy(dir.resolve("b.key"), dir.resolve("a.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Curl.Reply reload = Curl.run("-X", "POST", lb.adminUrl() + "/api/reload");
            assertEquals(422, reload.status(), reload.body());
            assertTrue(reload.body().contains(dir.resolve("a.key").toString()), reload.body());
            Http.Result still = Http.curl("--cacert", dir.resolve("a.pem").toString(), "--resolve", "localhost:" + lb.tlsPort() + ":127.0.0.1",
                    "-o", "/dev/null", "-w", "%{http_code}", "https://localhost:" + lb.tlsPort() + "/");
            assertEquals("200", still.stdout(), "the certificate in use still serves: " + still.stderr());
            assertEquals(0, lb.terminate(Duration.ofSeconds(30)));
        }
    }

    @Test
    void aKeyOfAnotherCertificateIsAConfigurationErrorNamingTheFile() throws Exception {
        selfSigned("a", "a");
        selfSigned("b", "b");
        LbProcess lb = LbProcess.launch(Map.of("BACKEND_SERVERS", "127.0.0.1:1", "SSL_CRT_PATH", dir.resolve("a.pem").toString(),
                "SSL_KEY_PATH", dir.resolve("b.key").toString()));
        try (lb) {
            assertEquals(2, lb.awaitExit(Duration.ofSeconds(30)));
            assertTrue(lb.stderr().contains("configuration error: SSL_KEY_PATH=\"" + dir.resolve("b.key")
                            + "\": this private key does not belong"),
                    lb.stderr());
        }
    }
}
