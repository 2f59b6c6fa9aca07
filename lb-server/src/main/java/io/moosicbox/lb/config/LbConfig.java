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
        String logLevel,
        AccessLogConfig accessLog,
        WebSocketConfig websocket,
        Origins origins) {

    public LbConfig {
        clusters = List.copyOf(clusters);
        origins = origins == null ? Origins.unknown() : origins;
    }

    /** Built in code: no variable or file set anything. */
    public LbConfig(Listeners listeners, TlsConfig tls, List<ClusterConfig> clusters, Timeouts timeouts,
                    ShutdownConfig shutdown, AdminConfig admin, String logLevel, AccessLogConfig accessLog, WebSocketConfig websocket) {
        this(listeners, tls, clusters, timeouts, shutdown, admin, logLevel, accessLog, websocket, Origins.unknown());
    }

    /** Without an access log and with the WebSocket defaults. */
    public LbConfig(Listeners listeners, TlsConfig tls, List<ClusterConfig> clusters, Timeouts timeouts,
                    ShutdownConfig shutdown, AdminConfig admin, String logLevel) {
        this(listeners, tls, clusters, timeouts, shutdown, admin, logLevel, AccessLogConfig.off(), WebSocketConfig.defaults());
    }

    /** With the WebSocket defaults. */
    public LbConfig(Listeners listeners, TlsConfig tls, List<ClusterConfig> clusters, Timeouts timeouts,
                    ShutdownConfig shutdown, AdminConfig admin, String logLevel, AccessLogConfig accessLog) {
        this(listeners, tls, clusters, timeouts, shutdown, admin, logLevel, accessLog, WebSocketConfig.defaults());
    }

    /** Without an access log. */
    public LbConfig(Listeners listeners, TlsConfig tls, List<ClusterConfig> clusters, Timeouts timeouts,
                    ShutdownConfig shutdown, AdminConfig admin, String logLevel, WebSocketConfig websocket) {
        this(listeners, tls, clusters, timeouts, shutdown, admin, logLevel, AccessLogConfig.off(), websocket);
    }

    /** @param https null when TLS is off */
    public record Listeners(HostPort http, HostPort https, HostPort admin) {}

    /**
     * @param certificates   the first is the default for clients that send no matching SNI
     * @param redirectHttp   plain HTTP gets 308 to https, ACME challenges excepted
     * @param hstsMaxAge     Strict-Transport-Security max-age on TLS responses; 0: no header
     * @param reloadInterval how often the PEM files are checked for a change; 0: only on reload
     * @param backends       how the balancer connects to https:// backends
     * @param redirectPort   the port in the redirect's Location; 0: the TLS listener's own
     */
    public record TlsConfig(List<CertificatePair> certificates, boolean redirectHttp, Duration hstsMaxAge,
                            Duration reloadInterval, BackendTls backends, int redirectPort) {
        public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(10);
        /** Below, checking the certificate files costs a visible share of a core. */
        public static final Duration MIN_RELOAD_INTERVAL = Duration.ofMillis(100);
        /** HSTS counts in whole seconds: a shorter max-age would be sent as 0. */
        public static final Duration MIN_HSTS_MAX_AGE = Duration.ofSeconds(1);
        /**
         * Where the Pingora-based MoosicBox balancer read its certificate when SSL_CRT_PATH and
         * SSL_KEY_PATH were unset, turning TLS on when the files were there: a deployment that
         * mounted them there keeps TLS after the switch.
         */
        public static final CertificatePair PINGORA_DEFAULT =
                new CertificatePair("/etc/pingora/ssl/tls.crt", "/etc/pingora/ssl/tls.key");

        public TlsConfig {
            certificates = List.copyOf(certificates);
        }

        public TlsConfig(List<CertificatePair> certificates, boolean redirectHttp, Duration hstsMaxAge,
                         Duration reloadInterval, BackendTls backends) {
            this(certificates, redirectHttp, hstsMaxAge, reloadInterval, backends, 0);
        }

        public TlsConfig(List<CertificatePair> certificates, boolean redirectHttp) {
            this(certificates, redirectHttp, Duration.ZERO, DEFAULT_RELOAD_INTERVAL, BackendTls.defaults());
        }

        public static TlsConfig none() {
            return new TlsConfig(List.of(), false);
        }

        public boolean enabled() {
            return !certificates.isEmpty();
        }

        public TlsConfig withCertificates(List<CertificatePair> pairs) {
            return new TlsConfig(pairs, redirectHttp, hstsMaxAge, reloadInterval, backends, redirectPort);
        }
    }

    public record CertificatePair(String cert, String key) {}

    /**
     * @param caFile             PEM file of the CAs that backend certificates must chain to; null: the system's
     * @param insecureSkipVerify accept any backend certificate (self-signed backends); never the default
     * @param http2              offer HTTP/2 to backends: ALPN h2 over TLS, prior-knowledge h2c in clear text
     */
    public record BackendTls(String caFile, boolean insecureSkipVerify, boolean http2) {
        public static BackendTls defaults() {
            return new BackendTls(null, false, false);
        }
    }

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
        /**
         * Surrounding whitespace is not part of a token: a Kubernetes Secret made with
         * {@code --from-file} ends in a newline that no client can send in a header, and locked everyone out.
         */
        public AdminConfig {
            token = token == null || token.isBlank() ? null : token.strip();
        }

        @Override
        public String toString() {
            return "AdminConfig[token=" + (token == null ? "none" : "(set)") + "]";
        }
    }

    /**
     * @param target null (off), {@code stdout}, or a file path to append to
     * @param format {@code combined} or {@code json}
     */
    public record AccessLogConfig(String target, String format) {
        public static final String STDOUT = "stdout";
        public static final List<String> FORMATS = List.of("combined", "json");

        public static AccessLogConfig off() {
            return new AccessLogConfig(null, "combined");
        }

        public boolean enabled() {
            return target != null;
        }
    }

    /**
     * @param idleTimeout longest silence on a proxied WebSocket session, in either direction
     * @param drainGrace  how long sessions stay open once their backend drains or the balancer
     *                    shuts down, before they are closed with 1001 (capped by the shutdown timeout)
     */
    public record WebSocketConfig(Duration idleTimeout, Duration drainGrace) {
        public static WebSocketConfig defaults() {
            return new WebSocketConfig(Duration.ofHours(1), Duration.ofSeconds(30));
        }
    }
}
