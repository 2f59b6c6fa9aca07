package io.moosicbox.lb.server;

import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.internal.HttpConnection;

/**
 * Jetty's HTTP/1 connections, except that an {@code Upgrade} header without the {@code upgrade}
 * connection option is ignored, as RFC 9110 7.8 lets a server ignore an upgrade it does not take
 * (7.6.1: the option is what makes it one for this hop). Jetty answered such a request {@code 400
 * Invalid h2c upgrade headers}, whatever protocol it named. The header is dropped, not passed on:
 * it is hop-by-hop, and the WebSocket path must not take it for a handshake. {@code HTTP2-Settings}
 * is kept only when {@code Connection} names it too, so that it never reaches a backend.
 */
public final class Http1ConnectionFactory extends HttpConnectionFactory {
    public Http1ConnectionFactory(HttpConfiguration config) {
        super(config);
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        UpgradeOptionConnection connection = new UpgradeOptionConnection(getHttpConfiguration(), connector, endPoint);
        connection.setTransferEncodingChunkMaxLength(getTransferEncodingChunkMaxLength());
        return configure(connection, connector, endPoint);
    }

    private static final class UpgradeOptionConnection extends HttpConnection {
        UpgradeOptionConnection(HttpConfiguration config, Connector connector, EndPoint endPoint) {
            super(config, connector, endPoint);
        }

        @Override
        protected HttpStreamOverHTTP1 newHttpStream(String method, String uri, HttpVersion version) {
            return new HttpStreamOverHTTP1(method, uri, version) {
                /**
                 * Upgrade and HTTP2-Settings fields held back until the end of the headers, where it
                 * is known whether Connection named them as options.
                 */
                private List<HttpField> held;
                private boolean upgradeOption;
                private boolean settingsOption;

                @Override
                public void parsedHeader(HttpField field) {
                    HttpHeader header = field.getHeader();
                    if (header == HttpHeader.UPGRADE || header == HttpHeader.HTTP2_SETTINGS) {
                        if (held == null) {
                            held = new ArrayList<>(2);
                        }
                        held.add(field);
                        return;
                    }
                    if (header == HttpHeader.CONNECTION) {
                        upgradeOption |= field.contains(HttpHeaderValue.UPGRADE.asString());
                        settingsOption |= field.contains(HttpHeader.HTTP2_SETTINGS.asString());
                    }
                    super.parsedHeader(field);
                }

                @Override
                public Runnable headerComplete() {
                    if (held != null && upgradeOption) {
                        for (HttpField field : held) {
                            // HTTP2-Settings belongs to this hop only (RFC 7540 3.2.1), and Connection
                            // must say so; without, it would reach the backend when the upgrade is not taken.
                            if (field.getHeader() == HttpHeader.UPGRADE || settingsOption) {
                                super.parsedHeader(field);
                            }
                        }
                    }
                    return super.headerComplete();
                }
            };
        }
    }
}
