package io.moosicbox.lb.websocket;

import io.moosicbox.lb.proxy.HeaderLists;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * A client's {@code Upgrade} is a list of protocols it would switch to (RFC 9110 7.8), so
 * {@code websocket} may come among others; Jetty's handshake takes only a lone {@code websocket}
 * (it refused a list, with a WARN for each). Wrapped around the handshakes' handler, this shows
 * Jetty the one protocol the balancer chose.
 */
public final class WebSocketUpgradeHeader extends Handler.Wrapper {
    private static final String WEBSOCKET = "websocket";

    public WebSocketUpgradeHeader(Handler handshakes) {
        super(handshakes);
    }

    /**
     * Whether the request asks for a WebSocket: an HTTP/1.1 GET whose Upgrade names it, in any
     * case. Any other Upgrade ({@code websocket2}, one in an HTTP/1.0 request) is not acted on,
     * as RFC 9110 7.8 has it, and the request is a plain one.
     */
    static boolean asksForWebSocket(Request request) {
        if (!"GET".equals(request.getMethod()) || request.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_1_1) {
            return false;
        }
        HttpFields headers = request.getHeaders();
        if (!headers.contains(HttpHeader.UPGRADE)) {
            return false;
        }
        for (String protocol : HeaderLists.of(headers, HttpHeader.UPGRADE)) {
            if (protocol.equalsIgnoreCase(WEBSOCKET)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        HttpFields headers = request.getHeaders();
        if (headers.getValuesList(HttpHeader.UPGRADE).size() == 1 && WEBSOCKET.equalsIgnoreCase(headers.get(HttpHeader.UPGRADE))) {
            return super.handle(request, response, callback);
        }
        HttpFields chosen = HttpFields.build(headers).put(HttpHeader.UPGRADE, WEBSOCKET).asImmutable();
        return super.handle(new Request.Wrapper(request) {
            @Override
            public HttpFields getHeaders() {
                return chosen;
            }
        }, response, callback);
    }
}
