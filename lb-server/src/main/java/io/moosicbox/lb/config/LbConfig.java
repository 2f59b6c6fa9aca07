package io.moosicbox.lb.config;

import java.time.Duration;
import java.util.List;

/**
 * The whole effective configuration, after the file and the environment were merged and
 * validated. Immutable: a reload builds a new one and swaps it in.
 */
public record LbConfig(
        Listeners listeners,
        TlsConfig tls,
        List<ClusterConfig> clusters,
        Timeouts timeouts,
        ShutdownConfig shutdown,
        AdminConfig admin,
        String logLevel) {

    public LbConfig {
        clusters = List.copyOf(clusters);
    }

    /** @param https null when TLS is off */
    public record Listeners(HostPort http, HostPort https, HostPort admin) {}

    /** @param certificates the first is the default for clients that send no matching SNI */
    public record TlsConfig(List<CertificatePair> certificates, boolean redirectHttp) {
        public TlsConfig {
            certificates = List.copyOf(certificates);
        }

        public static TlsConfig none() {
            return new TlsConfig(List.of(), false);
        }

        public boolean enabled() {
            return !certificates.isEmpty();
        }
    }

    public record CertificatePair(String cert, String key) {}

    /**
     * @param connect         to open a connection to a backend
     * @param idle            longest silence on a client or backend connection while a request is open
     * @param responseHeaders from the end of the request to the backend's response headers (0: none)
     */
    public record Timeouts(Duration connect, Duration idle, Duration responseHeaders) {
        public static Timeouts defaults() {
            return new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60));
        }
    }

    /**
     * @param timeout how long accepted requests may finish after SIGTERM
     * @param delay   how long /ready reports 503 before the listeners close
     */
    public record ShutdownConfig(Duration timeout, Duration delay) {
        public static ShutdownConfig defaults() {
            return new ShutdownConfig(Duration.ofSeconds(30), Duration.ZERO);
        }
    }

    /** @param token bearer token that admin changes require; null: changes only from loopback */
    public record AdminConfig(String token) {
        @Override
        public String toString() {
            return "AdminConfig[token=" + (token == null ? "none" : "(set)") + "]";
        }
    }
}
