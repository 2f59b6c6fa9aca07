package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.RequestInfo;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.server.Request;

/** A request as the selection algorithms see it. */
record CoreRequestInfo(Request request) implements RequestInfo {
    @Override
    public String clientAddress() {
        return Request.getRemoteAddr(request);
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
