package io.moosicbox.lb.tls;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.moosicbox.lb.config.LbConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated bad PEM for the certificate loader, fixed seed and bounded: every broken file is a
 * {@link PemException} with a message, never another exception.
 */
class PemFuzzTest {
    private static final long SEED = 11;
    private static final int CASES = 600;
    private static final String ALPHABET = "ABCxyz019+/=-\n \r\u0000\u00e9";

    @TempDir
    Path dir;

    @Test
    void brokenCertificatesAndKeysFailOnlyAsPemErrors() throws Exception {
        Random random = new Random(SEED);
        int refused = 0;
        for (TestCerts.KeyForm form : List.of(TestCerts.KeyForm.RSA_PKCS8, TestCerts.KeyForm.RSA_PKCS1, TestCerts.KeyForm.EC_SEC1)) {
            TestCerts.Pair pair = TestCerts.selfSigned(dir, "fuzz", form);
            String cert = Files.readString(pair.cert());
            String key = Files.readString(pair.key());
            Path c = dir.resolve("c.pem");
            Path k = dir.resolve("k.pem");
            for (int i = 0; i < CASES / 3; i++) {
                boolean breakCert = random.nextBoolean();
                Files.writeString(c, breakCert ? mutate(cert, random) : cert);
                Files.writeString(k, breakCert ? key : mutate(key, random));
                try {
                    CertificateSet.load(List.of(new LbConfig.CertificatePair(c.toString(), k.toString())));
                } catch (PemException e) {
                    refused++;
                    assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a PEM error without a message");
                    assertFalse(e.getMessage().contains("\tat "), e.getMessage());
                } catch (RuntimeException e) {
                    fail(form + (breakCert ? " certificate" : " key") + " threw " + e + ":\n"
                            + (breakCert ? Files.readString(c) : Files.readString(k)), e);
                }
            }
        }
        assertTrue(refused > CASES / 3, "the generator produces bad input: " + refused + " refused");
    }

    /** Edits that keep the file looking like PEM often: base64 changed, lines lost, markers broken, truncation. */
    private static String mutate(String pem, Random random) {
        StringBuilder s = new StringBuilder(pem);
        switch (random.nextInt(5)) {
            case 0 -> s.setLength(random.nextInt(s.length()));
            case 1 -> {
                List<String> lines = new java.util.ArrayList<>(List.of(pem.split("\n")));
                lines.remove(random.nextInt(lines.size()));
                return String.join("\n", lines);
            }
            case 2 -> {
                int at = s.indexOf("-----END");
                s.replace(at, at + 8, "-----ENX");
            }
            default -> {
                int edits = 1 + random.nextInt(6);
                for (int e = 0; e < edits; e++) {
                    int at = 30 + random.nextInt(Math.max(1, s.length() - 60));
                    s.setCharAt(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
                }
            }
        }
        return s.toString();
    }
}
