package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.RequestInfo;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;

/** A servlet request as the selection algorithms see it. */
record ServletRequestInfo(HttpServletRequest request) implements RequestInfo {
    @Override
    public String clientAddress() {
        return request.getRemoteAddr();
    }

    @Override
    public String header(String name) {
        return request.getHeader(name);
    }

    @Override
    public String cookie(String name) {
        Cookie[] cookies = request.getCookies();
        if (cookies != null) {
            for (Cookie c : cookies) {
                if (c.getName().equals(name)) {
                    return c.getValue();
                }
            }
        }
        return null;
    }
}
