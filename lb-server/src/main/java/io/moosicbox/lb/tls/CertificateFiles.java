package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.LbConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the TLS files of a configuration while it is loaded, so that --check and start fail on them (exit 2).
 * Each problem names the setting as the user sets it, its value and what is wrong, as configuration errors do:
 * {@code BACKEND_CA_FILE="/etc/ca.pem" (tls.backends.ca_file in the file): cannot read (no such file)}.
 */
public final class CertificateFiles {
    private CertificateFiles() {}

    /** One line per unusable file; empty when every certificate, key and CA file can be served. */
    public static List<String> check(LbConfig.TlsConfig tls) {
        List<String> problems = new ArrayList<>();
        List<LbConfig.CertificatePair> pairs = tls.certificates();
        for (int i = 0; i < pairs.size(); i++) {
            LbConfig.CertificatePair pair = pairs.get(i);
            boolean pingora = pair.equals(LbConfig.TlsConfig.PINGORA_DEFAULT);
            String cert = pingora ? "the Pingora default certificate (used when SSL_CERT_PATH and SSL_KEY_PATH are not set)"
                    : "SSL_CERT_PATH=\"" + pair.cert() + "\" (tls.certificates[" + i + "].cert in the file)";
            String key = pingora ? "the Pingora default key (used when SSL_CERT_PATH and SSL_KEY_PATH are not set)"
                    : "SSL_KEY_PATH=\"" + pair.key() + "\" (tls.certificates[" + i + "].key in the file)";
            boolean readable = true;
            try {
                Path file = Path.of(pair.cert());
                PemFiles.certificates(file, PemFiles.read(file));
            } catch (PemException e) {
                problems.add(named(cert, pingora ? null : pair.cert(), e));
                readable = false;
            }
            try {
                Path file = Path.of(pair.key());
                PemFiles.privateKey(file, PemFiles.read(file));
            } catch (PemException e) {
                problems.add(named(key, pingora ? null : pair.key(), e));
                readable = false;
            }
            if (readable) {
                try {
                    // Each file reads: what is left is whether the key belongs to the certificate.
                    CertificateSet.load(List.of(pair));
                } catch (PemException e) {
                    problems.add(named(key, pingora ? null : pair.key(), e));
                }
            }
        }
        problems.addAll(checkCaFile(tls.backends().caFile()));
        return problems;
    }

    /** The backends' CA file, when one is set: one line if it cannot be read as certificates. */
    public static List<String> checkCaFile(String ca) {
        if (ca == null) {
            return List.of();
        }
        try {
            Path file = Path.of(ca);
            PemFiles.certificates(file, PemFiles.read(file));
            return List.of();
        } catch (PemException e) {
            return List.of(named("BACKEND_CA_FILE=\"" + ca + "\" (tls.backends.ca_file in the file)", ca, e));
        }
    }

    /**
     * The setting, then why: the file's problem without the file in front when the setting already
     * quotes it ({@code PemException} messages start with the file).
     *
     * @param quoted the path the setting quotes, or null when it does not
     */
    private static String named(String setting, String quoted, PemException e) {
        String message = e.getMessage();
        if (quoted != null) {
            String prefix = Path.of(quoted) + ": ";
            if (message.startsWith(prefix)) {
                message = message.substring(prefix.length());
            }
        }
        return setting + ": " + message;
    }
}
