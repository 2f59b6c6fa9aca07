package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.LbConfig;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.transport.HttpClientTransportDynamic;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.ClientConnectionFactoryOverHTTP2;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * How the balancer talks to {@code https://} backends: certificates verified against the
 * system's trust store or a given CA file, or not at all when explicitly asked (self-signed
 * backends); and optionally HTTP/2.
 */
public final class BackendTls {
    private final LbConfig.BackendTls config;

    public BackendTls(LbConfig.BackendTls config) {
        this.config = config;
    }

    public boolean http2() {
        return config.http2();
    }

    /** Also for other clients of the backends (health checks, WebSocket) so that they trust alike. */
    public SslContextFactory.Client newSslContextFactory() {
        SslContextFactory.Client factory = new SslContextFactory.Client();
        if (config.insecureSkipVerify()) {
            factory.setTrustAll(true);
            factory.setEndpointIdentificationAlgorithm(null);
        } else if (config.caFile() != null) {
            factory.setTrustStore(trustStore(Path.of(config.caFile())));
        }
        return factory;
    }

    /**
     * With HTTP/2 on, h2 is offered first: negotiated by ALPN over TLS (a backend that only
     * speaks HTTP/1.1 still gets that), prior knowledge over clear text.
     *
     * @param http11 how HTTP/1.1 is spoken ({@code HttpClientConnectionFactory.HTTP11}, or the proxy's own)
     */
    public HttpClient newHttpClient(ClientConnector connector, ClientConnectionFactory.Info http11) {
        connector.setSslContextFactory(newSslContextFactory());
        if (!config.http2()) {
            return new HttpClient(new HttpClientTransportDynamic(connector, http11));
        }
        ClientConnectionFactory.Info h2 = new ClientConnectionFactoryOverHTTP2.HTTP2(new HTTP2Client(connector));
        return new HttpClient(new HttpClientTransportDynamic(connector, h2, http11));
    }

    private static KeyStore trustStore(Path caFile) {
        try {
            List<X509Certificate> cas = PemFiles.certificates(caFile, PemFiles.read(caFile));
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("ca-" + (i + 1), cas.get(i));
            }
            return store;
        } catch (PemException e) {
            // Checked with its source at start (CertificateFiles); here only if it went away since.
            throw new IllegalArgumentException("the backends' CA file (BACKEND_CA_FILE or tls.backends.ca_file): " + e.getMessage(), e);
        } catch (java.security.GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot build the backend trust store: " + e.getMessage(), e);
        }
    }
}
