package io.moosicbox.lb.tls;

import io.moosicbox.lb.proxy.ForwardedHeaders;
import io.moosicbox.lb.route.Router;
import java.util.function.IntSupplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code redirect_http}: a plain HTTP request gets 308 (method and body kept) to the same URL on
 * the TLS listener. ACME HTTP-01 challenges pass: the CA fetches them over plain HTTP. Requests
 * that pass are left to the next handler.
 */
final class HttpsRedirectHandler extends Handler.Abstract {
    private final IntSupplier tlsPort;

    HttpsRedirectHandler(IntSupplier tlsPort) {
        super(InvocationType.NON_BLOCKING);
        this.tlsPort = tlsPort;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        HttpURI uri = request.getHttpURI();
        // The connection's security, not the request line's: GET https://host/ on port 80 is still plain.
        // OPTIONS * asks about the server, not a resource: there is no URL to send it to.
        if (request.getConnectionMetaData().isSecure() || Router.isAcmeChallenge(ForwardedHeaders.routingPath(request))
                || "*".equals(uri.getPath())) {
            return false;
        }
        String host = Request.getServerName(request);
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        int port = tlsPort.getAsInt();
        String query = uri.getQuery();
        String location = "https://" + host + (port == 443 ? "" : ":" + port) + uri.getPath()
                + (query == null ? "" : "?" + query);
        response.setStatus(HttpStatus.PERMANENT_REDIRECT_308);
        response.getHeaders().put(HttpHeader.LOCATION, location);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0);
        callback.succeeded();
        return true;
    }
}
