package io.moosicbox.lb.tls;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.function.IntSupplier;
import org.eclipse.jetty.http.HttpStatus;

/**
 * {@code redirect_http}: a plain HTTP request gets 308 (method and body kept) to the same URL on
 * the TLS listener. ACME HTTP-01 challenges pass: the CA fetches them over plain HTTP.
 */
final class HttpsRedirectFilter extends HttpFilter {
    static final String ACME_CHALLENGE = "/.well-known/acme-challenge/";

    private final IntSupplier tlsPort;

    HttpsRedirectFilter(IntSupplier tlsPort) {
        this.tlsPort = tlsPort;
    }

    @Override
    protected void doFilter(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        if (request.isSecure() || request.getRequestURI().startsWith(ACME_CHALLENGE)) {
            chain.doFilter(request, response);
            return;
        }
        String host = request.getServerName();
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        int port = tlsPort.getAsInt();
        String query = request.getQueryString();
        String location = "https://" + host + (port == 443 ? "" : ":" + port) + request.getRequestURI()
                + (query == null ? "" : "?" + query);
        response.setStatus(HttpStatus.PERMANENT_REDIRECT_308);
        response.setHeader("Location", location);
        response.setContentLength(0);
    }
}
