package io.moosicbox.lb.tls;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/** A real backend on loopback that answers with what it was sent: protocol and forwarding headers. */
final class EchoBackend implements AutoCloseable {
    private final Server server = new Server();
    private final ServerConnector connector;

    /** Plain HTTP/1.1. */
    EchoBackend() throws Exception {
        this(null);
    }

    /** Over TLS with h2 and http/1.1 when {@code pair} is given. */
    EchoBackend(TestCerts.Pair pair) throws Exception {
        HttpConfiguration http = new HttpConfiguration();
        if (pair == null) {
            connector = new ServerConnector(server, new HttpConnectionFactory(http));
        } else {
            http.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            CertificateSet set = CertificateSet.load(java.util.List.of(
                    new io.moosicbox.lb.config.LbConfig.CertificatePair(pair.cert().toString(), pair.key().toString())));
            ssl.setKeyStore(set.keyStore());
            ssl.setKeyStorePassword(CertificateSet.PASSWORD);
            HttpConnectionFactory h1 = new HttpConnectionFactory(http);
            ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
            alpn.setDefaultProtocol(h1.getProtocol());
            connector = new ServerConnector(server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn,
                    new HTTP2ServerConnectionFactory(http), h1);
        }
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                var h = request.getHeaders();
                String body = "version=" + request.getConnectionMetaData().getProtocol()
                        + " proto=" + h.get("X-Forwarded-Proto")
                        + " port=" + h.get("X-Forwarded-Port")
                        + " host=" + h.get(HttpHeader.HOST)
                        + " path=" + request.getHttpURI().getPathQuery() + "\n";
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        server.start();
    }

    String url() {
        return (connector.getDefaultConnectionFactory() instanceof SslConnectionFactory ? "https" : "http")
                + "://127.0.0.1:" + connector.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
