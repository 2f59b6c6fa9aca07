package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.server.Http1ConnectionFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.HTTP2Cipher;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.ssl.X509;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS listener: h2 and http/1.1 by ALPN, TLS 1.2 and 1.3 with Mozilla's "intermediate"
 * ciphers, certificates chosen by SNI, and certificates that are replaced on disk served to new
 * handshakes without a restart and without touching open connections.
 */
public final class TlsListener extends ContainerLifeCycle {
    public static final String CONNECTOR = "proxy-tls";
    private static final Logger LOG = LoggerFactory.getLogger(TlsListener.class);
    /** How well a certificate's names cover an SNI name, better ones higher. */
    private static final int NO_MATCH = 0;
    private static final int WILDCARD = 1;
    private static final int EXACT = 2;

    /** Mozilla server-side TLS "intermediate" (v5.7), IANA names; TLS 1.3 suites first. */
    static final String[] CIPHER_SUITES = {
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    };

    private final SslContextFactory.Server sslContextFactory = new SslContextFactory.Server();
    private final ServerConnector connector;
    private final LbConfig.TlsConfig config;
    private final ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("lb-certificates", true);
    private volatile List<LbConfig.CertificatePair> pairs;
    private volatile CertificateSet current;
    /** The files of {@link #pairs} when they were last loaded or refused, and what was wrong with them then. */
    private byte[] lastRead;
    private List<String> lastProblems = List.of();
    /** The files of {@link #pairs} as the previous poll read them. */
    private byte[] seen;

    /**
     * @param selectors threads that serve this listener's connections (see LoadBalancer.SELECTORS)
     * @param plain the plain listener's HTTP configuration; TLS adds to a copy of it
     * @throws PemException when a certificate cannot be served (the configuration check reports it first)
     */
    public TlsListener(Server server, int selectors, HttpConfiguration plain, HostPort address, LbConfig.TlsConfig config)
            throws PemException {
        this.config = config;
        this.pairs = config.certificates();
        List<PairFiles> files = PairFiles.read(pairs);
        // All or nothing here: a pair that cannot be served at start has nothing to fall back on.
        this.current = CertificateSet.of(files);
        this.lastRead = PairFiles.digest(files);
        this.seen = lastRead;
        warnAboutValidity(current);

        sslContextFactory.setKeyStore(current.keyStore());
        sslContextFactory.setKeyStorePassword(CertificateSet.PASSWORD);
        sslContextFactory.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        sslContextFactory.setIncludeCipherSuites(CIPHER_SUITES);
        sslContextFactory.setCipherComparator(HTTP2Cipher.COMPARATOR);
        // Mozilla intermediate: the client's order wins (it knows whether it has AES hardware).
        sslContextFactory.setUseCipherSuitesOrder(false);
        sslContextFactory.setSNISelector(this::selectAlias);

        HttpConfiguration https = new HttpConfiguration(plain);
        https.setSecureScheme("https");
        https.setSecurePort(address.port());
        long hsts = config.hstsMaxAge().toSeconds();
        // No SNI check: clients that connect by IP address get the default certificate and an answer.
        https.addCustomizer(new SecureRequestCustomizer(false, false, hsts > 0 ? hsts : -1, false));

        HttpConnectionFactory http11 = new Http1ConnectionFactory(https);
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(https);
        // WebSocket over HTTP/2 (RFC 8441) is not bridged: advertised, Chrome and Firefox open wss:// that way and get 501.
        h2.setConnectProtocolEnabled(false);
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
        alpn.setDefaultProtocol(http11.getProtocol());
        SslConnectionFactory tls = new SslConnectionFactory(sslContextFactory, alpn.getProtocol());
        connector = new ServerConnector(server, -1, selectors, tls, alpn, h2, http11);
        connector.setName(CONNECTOR);
        connector.setHost(address.host().equals("0.0.0.0") || address.host().equals("*") ? null : address.host());
        connector.setPort(address.port());
        addBean(scheduler);
    }

    public ServerConnector connector() {
        return connector;
    }

    /** The certificates now served, the default first. */
    public List<CertificateInfo> certificates() {
        return current.certificates();
    }

    /**
     * With {@code redirect_http}, the handler that answers plain requests with a 308 to this
     * listener and leaves the rest to the next handler; null without it.
     */
    public Handler redirectHandler() {
        int port = config.redirectPort();
        return config.redirectHttp() ? new HttpsRedirectHandler(port > 0 ? () -> port : connector::getLocalPort) : null;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        long interval = config.reloadInterval().toMillis();
        if (interval > 0) {
            scheduler.schedule(() -> poll(interval), interval, TimeUnit.MILLISECONDS);
        }
    }

    private void poll(long interval) {
        try {
            reloadIfChanged();
        } catch (RuntimeException e) {
            LOG.warn("checking the certificate files failed", e);
        }
        if (isRunning()) {
            scheduler.schedule(() -> poll(interval), interval, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Re-reads the certificate files now (on a configuration reload), without waiting for them to
     * settle as a poll does: a reload is asked for once the files are written. {@code pairs} may
     * name other files than before. A pair that cannot be served keeps serving its previous
     * certificate while the others are renewed; a set that cannot be served at all (a new pair
     * is broken) is refused and the running one stays.
     *
     * @return the broken files, one line each; empty when every pair serves its files (or nothing changed)
     */
    public synchronized List<String> reload(List<LbConfig.CertificatePair> newPairs) {
        List<PairFiles> files = PairFiles.read(newPairs);
        byte[] digest = PairFiles.digest(files);
        if (newPairs.equals(pairs) && Arrays.equals(digest, lastRead)) {
            return lastProblems;
        }
        return load(newPairs, files, digest);
    }

    /**
     * One poll. Changed files are loaded once two polls in a row read the same bytes, as
     * ConfigWatcher does: a fullchain rewritten in place can be caught with its new leaf but not
     * yet its intermediate, which the new key matches, and that would be served to every client
     * until the next poll. A renewal is thus served within two intervals.
     */
    synchronized void reloadIfChanged() {
        List<PairFiles> files = PairFiles.read(pairs);
        byte[] digest = PairFiles.digest(files);
        boolean settled = Arrays.equals(digest, seen);
        seen = digest;
        if (settled && !Arrays.equals(digest, lastRead)) {
            load(pairs, files, digest);
        }
    }

    private List<String> load(List<LbConfig.CertificatePair> newPairs, List<PairFiles> files, byte[] digest) {
        List<String> problems = new ArrayList<>();
        CertificateSet next;
        try {
            next = current.renew(files, problems);
            if (!next.entries().equals(current.entries())) {
                sslContextFactory.reload(f -> f.setKeyStore(next.keyStore()));
            }
        } catch (Exception e) {
            String problem = e instanceof PemException ? e.getMessage() : "cannot use the new certificates: " + e;
            LOG.warn("new certificate refused, still serving the previous one: {}", problem);
            if (newPairs.equals(pairs)) {
                // Logged once per broken content: a watcher polling every few seconds must not flood the log.
                lastRead = digest;
                lastProblems = List.of(problem);
            }
            return List.of(problem);
        }
        for (String problem : problems) {
            LOG.warn("new certificate refused, still serving the previous one: {}", problem);
        }
        for (CertificateSet.Entry e : next.entries()) {
            if (!current.entries().contains(e)) {
                CertificateInfo c = e.info();
                LOG.info("certificate for {} from {} now serves new connections (valid until {})", c.name(), c.file(), c.notAfter());
            }
        }
        current = next;
        pairs = newPairs;
        lastRead = digest;
        lastProblems = List.copyOf(problems);
        warnAboutValidity(next);
        return lastProblems;
    }

    private static void warnAboutValidity(CertificateSet set) {
        Instant now = Instant.now();
        for (CertificateInfo c : set.certificates()) {
            if (c.expired(now)) {
                LOG.warn("certificate for {} from {} expired at {}; still served, but clients will refuse it", c.name(), c.file(), c.notAfter());
            } else if (now.isBefore(c.notBefore())) {
                LOG.warn("certificate for {} from {} is not valid before {}", c.name(), c.file(), c.notBefore());
            }
        }
    }

    /**
     * Exact names before wildcards, then the certificate configured first. A client whose SNI
     * matches no certificate, or that sends none, gets the first configured one, not an arbitrary one.
     */
    private String selectAlias(String keyType, java.security.Principal[] issuers, javax.net.ssl.SSLSession session,
                               String sniHost, java.util.Collection<X509> candidates) {
        if (sniHost != null) {
            String host = sniHost.toLowerCase(Locale.ROOT);
            X509 best = null;
            int bestMatch = NO_MATCH;
            for (X509 x509 : candidates) {
                int match = match(x509, host);
                if (match > bestMatch || match == bestMatch && match != NO_MATCH
                        && CertificateSet.position(x509.getAlias()) < CertificateSet.position(best.getAlias())) {
                    best = x509;
                    bestMatch = match;
                }
            }
            if (best != null) {
                return best.getAlias();
            }
            for (String alias : sslContextFactory.getAliases()) {
                X509 x509 = sslContextFactory.getX509(alias);
                if (x509 != null && match(x509, host) != NO_MATCH) {
                    // Served under another key type: the JDK asks again with that one.
                    return null;
                }
            }
        }
        String fallback = current.defaultAlias();
        return candidates.stream().anyMatch(x -> x.getAlias().equals(fallback)) ? fallback : null;
    }

    /**
     * Not Jetty's X509.matches: that one lets {@code *.example.com} cover {@code example.com}
     * itself, so a wildcard-only certificate could be chosen for a name it is not valid for. A
     * wildcard stands for exactly one label (RFC 6125).
     *
     * @param host the requested name in lower case (Jetty keeps the certificate's names in lower case)
     */
    private static int match(X509 x509, String host) {
        if (x509.getHosts().contains(host)) {
            return EXACT;
        }
        int dot = host.indexOf('.');
        return dot > 0 && x509.getWilds().contains(host.substring(dot + 1)) ? WILDCARD : NO_MATCH;
    }
}
