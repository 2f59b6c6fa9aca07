package io.moosicbox.lb.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.ConfigLoader;
import io.moosicbox.lb.server.LoadBalancer;
import io.moosicbox.lb.server.ReloadResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A configuration file changed while its certificate files are being renewed: the renewal is
 * not finished, but the file is valid, and a watcher that saw it refused would not try it again.
 */
class ReloadDuringRenewalTest {
    @TempDir
    Path dir;

    @Test
    void theFileIsAppliedWhileTheSameCertificatesAreHalfRenewed() throws Exception {
        Tools.require("openssl");
        TestCerts.Pair first = TestCerts.selfSigned(dir.resolve("first"), "first.test", TestCerts.KeyForm.EC_PKCS8);
        TestCerts.Pair second = TestCerts.selfSigned(dir.resolve("second"), "second.test", TestCerts.KeyForm.EC_PKCS8);
        Path cert = Files.copy(first.cert(), dir.resolve("tls.crt"));
        Path key = Files.copy(first.key(), dir.resolve("tls.key"));
        Path file = dir.resolve("lb.yaml");
        try (EchoBackend backend = new EchoBackend()) {
            String head = """
                    listeners: { http: 127.0.0.1:0, https: 127.0.0.1:0, admin: 127.0.0.1:0 }
                    tls:
                      certificates: [{ cert: %s, key: %s }]
                      reload_interval: 0
                    clusters:
                      - name: default
                        backends: [%s]
                    """.formatted(cert, key, backend.url());
            Files.writeString(file, head);
            LoadBalancer lb = new LoadBalancer(ConfigLoader.load(file, Map.of()));
            lb.setConfigSource(() -> ConfigLoader.load(file, Map.of()));
            lb.start();
            try {
                assertEquals("first.test", lb.certificates().get(0).name());
                // The new key is written, its certificate not yet; meanwhile the file gains a cluster.
                Files.copy(second.key(), key, StandardCopyOption.REPLACE_EXISTING);
                Files.writeString(file, head + """
                          - name: api
                            hosts: [api.test]
                            backends: [%s]
                        """.formatted(backend.url()));
                ReloadResult during = lb.reload();
                assertTrue(during.applied(), during.toString());
                assertNotNull(lb.router().cluster("api"), "the new cluster serves");
                assertEquals("first.test", lb.certificates().get(0).name(), "the certificate in use stays");

                Files.copy(second.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
                ReloadResult after = lb.reload();
                assertTrue(after.applied(), after.toString());
                assertEquals("second.test", lb.certificates().get(0).name(), "the finished renewal serves");

                // New certificate files that cannot be read are still a reason to refuse the file.
                Files.writeString(file, head.replace(cert.toString(), dir.resolve("missing.crt").toString()));
                ReloadResult refused = lb.reload();
                assertFalse(refused.applied(), refused.toString());
                assertTrue(refused.problems().toString().contains("missing.crt"), refused.toString());
            } finally {
                lb.stop();
            }
        }
    }
}
