package io.moosicbox.lb.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code SSL_*} and {@code BACKEND_*} TLS variables on top of the file's {@code tls} section.
 * Certificate and key paths may list several pairs, comma-separated and matched by position (SNI).
 */
final class TlsEnv {
    private TlsEnv() {}

    /** @param pingoraDefault the certificate pair used when nothing names one and both its files exist */
    static LbConfig.TlsConfig tls(EnvConfig env, LbConfig.TlsConfig base, LbConfig.CertificatePair pingoraDefault) {
        String certVariable = "SSL_CERT_PATH";
        String certs = env.get(certVariable, s -> s, null);
        if (certs == null) {
            // The MoosicBox name: a problem names the variable the user set, not its new name.
            certVariable = "SSL_CRT_PATH";
            certs = env.get(certVariable, s -> s, null);
        }
        String keys = env.get("SSL_KEY_PATH", s -> s, null);
        List<LbConfig.CertificatePair> pairs = base.certificates();
        if (certs != null || keys != null) {
            pairs = pairs(env, certVariable, certs, keys);
        } else if (pairs.isEmpty() && pingoraDefault != null && Files.isRegularFile(Path.of(pingoraDefault.cert()))
                && Files.isRegularFile(Path.of(pingoraDefault.key()))) {
            pairs = List.of(pingoraDefault);
        }
        LbConfig.BackendTls b = base.backends();
        LbConfig.BackendTls backends = new LbConfig.BackendTls(
                env.get("BACKEND_CA_FILE", s -> s, b.caFile()),
                env.get("BACKEND_TLS_INSECURE", EnvConfig::parseBoolean, b.insecureSkipVerify()),
                env.get("BACKEND_HTTP2", EnvConfig::parseBoolean, b.http2()));
        if (backends.caFile() != null && backends.insecureSkipVerify()) {
            env.problem(env.written("BACKEND_TLS_INSECURE", "tls.backends.insecure_skip_verify", true) + " and "
                    + env.written("BACKEND_CA_FILE", "tls.backends.ca_file", backends.caFile())
                    + " contradict each other: verify against the CA file, or skip verification");
        }
        LbConfig.TlsConfig tls = new LbConfig.TlsConfig(pairs,
                env.get("SSL_REDIRECT_HTTP", EnvConfig::parseBoolean, base.redirectHttp()),
                env.get("SSL_HSTS_MAX_AGE", Durations.zeroOrAtLeast(LbConfig.TlsConfig.MIN_HSTS_MAX_AGE), base.hstsMaxAge()),
                env.get("SSL_RELOAD_INTERVAL", Durations.zeroOrAtLeast(LbConfig.TlsConfig.MIN_RELOAD_INTERVAL), base.reloadInterval()),
                backends,
                env.get("SSL_REDIRECT_PORT", EnvConfig::parsePort, base.redirectPort()));
        if (tls.redirectHttp() && !tls.enabled()) {
            // As written: SSL_REDIRECT_HTTP=1 was reported as SSL_REDIRECT_HTTP=true.
            env.problem(env.written("SSL_REDIRECT_HTTP", "tls.redirect_http", true) + " needs a certificate: "
                    + "set SSL_CERT_PATH and SSL_KEY_PATH (tls.certificates in the file)");
        }
        return tls;
    }

    /** The TLS listener's address when TLS is on, else null. */
    static HostPort https(EnvConfig env, HostPort base, LbConfig.TlsConfig tls) {
        HostPort address = env.get("SSL_BIND_ADDRESS", HostPort::parse, null);
        if (address == null) {
            Integer port = env.get("SSL_PORT", EnvConfig::parsePort, null);
            address = port != null ? new HostPort("0.0.0.0", port) : base;
        }
        if (!tls.enabled()) {
            return null;
        }
        return address != null ? address : new HostPort("0.0.0.0", 443);
    }

    /** @param certVariable SSL_CERT_PATH, or SSL_CRT_PATH when only that one is set */
    private static List<LbConfig.CertificatePair> pairs(EnvConfig env, String certVariable, String certs, String keys) {
        if (certs == null || keys == null) {
            env.problem((certs == null ? "SSL_KEY_PATH=\"" + keys + "\" is set but SSL_CERT_PATH is not"
                    : certVariable + "=\"" + certs + "\" is set but SSL_KEY_PATH is not") + ": both are needed to turn TLS on");
            return List.of();
        }
        List<String> c = split(certs);
        List<String> k = split(keys);
        if (c.size() != k.size()) {
            env.problem(certVariable + "=\"" + certs + "\" lists " + c.size() + " certificate(s) but SSL_KEY_PATH=\"" + keys + "\" "
                    + k.size() + " key(s): they pair up by position, comma-separated");
            return List.of();
        }
        List<LbConfig.CertificatePair> pairs = new ArrayList<>();
        for (int i = 0; i < c.size(); i++) {
            pairs.add(new LbConfig.CertificatePair(c.get(i), k.get(i)));
        }
        return pairs;
    }

    private static List<String> split(String paths) {
        return Arrays.stream(paths.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
