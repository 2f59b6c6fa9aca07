package io.moosicbox.lb.server;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.List;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.SessionContainer;
import org.eclipse.jetty.http2.parser.SettingsBodyParser;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;

/**
 * Jetty's h2c factory, except that it never keeps the session of a connection that closed before
 * it opened, and that an {@code Upgrade: h2c} without exactly one valid {@code HTTP2-Settings} is
 * not taken (RFC 7540 3.2.1: the server must not upgrade then) but served over HTTP/1.1, as RFC
 * 9110 7.8 lets a server ignore an upgrade; Jetty answered it {@code 400}.
 *
 * <p>An HTTP/1.1 request with {@code Upgrade: h2c} becomes stream 1 of the new HTTP/2 session, and
 * Jetty 12.1 serves it from inside the new connection's {@code onOpen}, before that method tells
 * the connection's listeners that it opened. When the handler answers at once (the HTTPS
 * redirect, a refusal) the same call reads on: the client's preface, then, once the client has its
 * answer and hangs up, the end of input, and the connection closes. Its listeners hear of the close
 * first and of the opening after it, so the factory's {@link SessionContainer} removes a session it
 * does not hold yet, then adds it for good: its graceful shutdown then waits the whole shutdown
 * timeout for a session that is long gone, and every such request leaks one. This listener, told of
 * the opening after the container, takes such a session out again.
 */
final class H2cConnectionFactory extends HTTP2CServerConnectionFactory {
    private final SessionContainer sessions = getBean(SessionContainer.class);
    private final Connection.Listener closedBeforeOpened = new Connection.Listener() {
        @Override
        public void onOpened(Connection connection) {
            // An endpoint still open now closes later, and the container hears of that after this opening.
            if (!connection.getEndPoint().isOpen()) {
                sessions.onClosed(connection);
            }
        }
    };

    H2cConnectionFactory(HttpConfiguration http) {
        super(http);
    }

    @Override
    public Connection upgradeConnection(Connector connector, EndPoint endPoint, MetaData.Request request, HttpFields.Mutable response101) {
        if (!HttpMethod.PRI.is(request.getMethod()) && !validSettings(request.getHttpFields())) {
            return null;
        }
        return super.upgradeConnection(connector, endPoint, request, response101);
    }

    private static boolean validSettings(HttpFields fields) {
        List<String> settings = fields.getValuesList(HttpHeader.HTTP2_SETTINGS);
        if (settings.size() != 1) {
            return false;
        }
        try {
            return SettingsBodyParser.parseBody(ByteBuffer.wrap(Base64.getUrlDecoder().decode(settings.get(0)))) != null;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        Connection connection = super.newConnection(connector, endPoint);
        // Added after the container, so told of the opening after it.
        connection.addEventListener(closedBeforeOpened);
        return connection;
    }
}
