package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.Origins;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the TLS files of a configuration while it is loaded, so that --check and start fail on them (exit 2).
 * Each problem names the setting as the user set it (the variable, or the file's key), its value and what is
 * wrong, as configuration errors do: {@code BACKEND_CA_FILE="/etc/ca.pem": cannot read (no such file)}.
 */
public final class CertificateFiles {
    private CertificateFiles() {}

    /** One line per unusable file; empty when every certificate, key and CA file can be served. */
    public static List<String> check(LbConfig config) {
        List<String> problems = new ArrayList<>();
        Origins o = config.origins();
        List<LbConfig.CertificatePair> pairs = config.tls().certificates();
        for (int i = 0; i < pairs.size(); i++) {
            LbConfig.CertificatePair pair = pairs.get(i);
            boolean pingora = pair.equals(LbConfig.TlsConfig.PINGORA_DEFAULT);
            String cert = pingora ? "the Pingora default certificate (used when SSL_CERT_PATH and SSL_KEY_PATH are not set)"
                    : o.name("tls.certificates[" + i + "].cert", pair.cert(), "SSL_CERT_PATH", "SSL_CRT_PATH");
            String key = pingora ? "the Pingora default key (used when SSL_CERT_PATH and SSL_KEY_PATH are not set)"
                    : o.name("tls.certificates[" + i + "].key", pair.key(), "SSL_KEY_PATH");
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
        problems.addAll(checkCaFile(config));
        return problems;
    }

    /** The backends' CA file, when one is set: one line if it cannot be read as certificates. */
    public static List<String> checkCaFile(LbConfig config) {
        String ca = config.tls().backends().caFile();
        if (ca == null) {
            return List.of();
        }
        try {
            Path file = Path.of(ca);
            PemFiles.certificates(file, PemFiles.read(file));
            return List.of();
        } catch (PemException e) {
            return List.of(named(config.origins().name("tls.backends.ca_file", ca, "BACKEND_CA_FILE"), ca, e));
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
