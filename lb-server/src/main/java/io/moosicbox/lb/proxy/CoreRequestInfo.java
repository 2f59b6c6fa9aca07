package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.RequestInfo;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.InetAddressSet;

/** A request as the selection algorithms see it; the client's address is worked out only when one asks. */
record CoreRequestInfo(Request request, InetAddressSet trustedProxies) implements RequestInfo {
    @Override
    public String clientAddress() {
        return ClientAddress.of(request, trustedProxies);
    }

    @Override
    public String header(String name) {
        return request.getHeaders().get(name);
    }

    @Override
    public String cookie(String name) {
        for (HttpCookie c : Request.getCookies(request)) {
            if (c.getName().equals(name)) {
                return c.getValue();
            }
        }
        return null;
    }
}
