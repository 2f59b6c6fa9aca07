package io.moosicbox.lb.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.IdleTimeout;
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
 *
 * <p>And a client that reads slowly is not taken for a silent one: see {@link #stillReading}.
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

    /**
     * Whether a connection whose idle timeout expired with a response write pending has a client
     * that still reads: the write is tried again, and any byte it gets out is progress. The kernel
     * wakes a blocked writer only once about a third of the socket's send buffer (up to 4 MiB) has
     * drained, so a player reading at 200 KB/s let no byte move, as the endpoint sees it, for about
     * 7 s, and was cut at an idle timeout shorter than that although it never stopped reading.
     * A client that has stopped reading (a paused player) frees no room, and is cut as before.
     */
    static boolean stillReading(EndPoint endPoint) {
        // The socket's own endpoint (below TLS) is the one whose idle time a write that got out
        // resets, and under TLS the write that waits for the socket is its own (the encrypted bytes).
        AbstractEndPoint writer = endPoint instanceof AbstractEndPoint e && e.getWriteFlusher().isPending() ? e : null;
        EndPoint network = endPoint;
        while (network instanceof EndPoint.Wrapper wrapper) {
            network = wrapper.unwrap();
            if (writer != null && network instanceof AbstractEndPoint below && below.getWriteFlusher().isPending()) {
                writer = below;
            }
        }
        if (!(network instanceof IdleTimeout socket)) {
            return false;
        }
        long idleBefore = socket.getIdleFor();
        if (idleBefore < socket.getIdleTimeout()) {
            // A write got out on another thread since this timeout's check began: not idle.
            return true;
        }
        if (writer == null) {
            return false;
        }
        try {
            // What the selector runs when the socket becomes writable; a no-op when it just did so itself.
            writer.getWriteFlusher().completeWrite();
        } catch (RuntimeException e) {
            // Whatever the write's callback threw: the timeout goes on as Jetty's (it must not stop the idle checks).
            return false;
        }
        return socket.getIdleFor() < idleBefore;
    }

    private static final class UpgradeOptionConnection extends HttpConnection {
        UpgradeOptionConnection(HttpConfiguration config, Connector connector, EndPoint endPoint) {
            super(config, connector, endPoint);
        }

        @Override
        public boolean onIdleExpired(TimeoutException timeout) {
            // Not expired while the client takes bytes: the idle time starts again from this write.
            return !stillReading(getEndPoint()) && super.onIdleExpired(timeout);
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
