package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.LbConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Checks the TLS files of a configuration while it is loaded, so that --check and start fail on them (exit 2). */
public final class CertificateFiles {
    private CertificateFiles() {}

    /** One line per unusable file; empty when every certificate, key and CA file can be served. */
    public static List<String> check(LbConfig.TlsConfig tls) {
        List<String> problems = new ArrayList<>();
        if (tls.enabled()) {
            try {
                CertificateSet.load(tls.certificates());
            } catch (PemException e) {
                problems.add(e.getMessage());
            }
        }
        String ca = tls.backends().caFile();
        if (ca != null) {
            try {
                Path file = Path.of(ca);
                PemFiles.certificates(file, PemFiles.read(file));
            } catch (PemException e) {
                problems.add("backend CA file " + e.getMessage());
            }
        }
        return problems;
    }
}
