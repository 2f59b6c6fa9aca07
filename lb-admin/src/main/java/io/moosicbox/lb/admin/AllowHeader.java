package io.moosicbox.lb.admin;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.lang.reflect.Method;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.eclipse.jetty.ee10.servlet.ServletHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;

/**
 * Adds the {@code Allow} header that a servlet's default 405 answer leaves out (RFC 9110 requires
 * it), listing the methods the servlet implements, so that a script learns the right method from
 * any wrong one. A servlet that answers 405 with its own {@code Allow} keeps it. Methods that no
 * admin servlet implements (TRACE, CONNECT, unknown ones) are answered 405 here.
 */
final class AllowHeader implements Filter {
    private static final Map<String, String> METHODS = Map.of(
            "doGet", "GET", "doPost", "POST", "doPut", "PUT", "doDelete", "DELETE", "doPatch", "PATCH");
    private static final List<String> ORDER = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

    private final ServletHandler servlets;
    private final Map<Class<?>, String> allowed = new ConcurrentHashMap<>();

    AllowHeader(ServletHandler servlets) {
        this.servlets = servlets;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        HttpServletRequest req = (HttpServletRequest) request;
        HttpServletResponseWrapper withAllow = new HttpServletResponseWrapper((HttpServletResponse) response) {
            @Override
            public void sendError(int status, String message) throws IOException {
                addAllow(status);
                super.sendError(status, message);
            }

            @Override
            public void sendError(int status) throws IOException {
                addAllow(status);
                super.sendError(status);
            }

            private void addAllow(int status) {
                if (status == HttpServletResponse.SC_METHOD_NOT_ALLOWED && !containsHeader("Allow")) {
                    String allow = allowFor(req);
                    if (allow != null) {
                        setHeader("Allow", allow);
                    }
                }
            }
        };
        String allow = allowFor(req);
        if (allow != null && "OPTIONS".equals(req.getMethod())) {
            // The servlet library's own answer lists TRACE, which is answered 405 here.
            ((HttpServletResponse) response).setHeader("Allow", allow);
            return;
        }
        if (allow != null && !List.of(allow.split(", ")).contains(req.getMethod())) {
            // TRACE echoes the request's headers, the admin token's Authorization among them; PATCH
            // and unknown methods got the servlet library's 501. What a servlet does not implement is 405.
            withAllow.sendError(HttpServletResponse.SC_METHOD_NOT_ALLOWED);
            return;
        }
        chain.doFilter(request, withAllow);
    }

    private String allowFor(HttpServletRequest req) {
        ServletHolder holder = servlets.getServlet(req.getHttpServletMapping().getServletName());
        if (holder == null) {
            return null;
        }
        try {
            return allowed.computeIfAbsent(holder.getServlet().getClass(), AllowHeader::implemented);
        } catch (ServletException e) {
            return null;
        }
    }

    /** The methods a servlet class overrides, as {@code HttpServlet.doOptions} finds them. */
    static String implemented(Class<?> servlet) {
        Set<String> found = new HashSet<>(List.of("OPTIONS"));
        for (Class<?> c = servlet; c != null && c != HttpServlet.class; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                String method = METHODS.get(m.getName());
                if (method != null) {
                    found.add(method);
                }
            }
        }
        if (found.contains("GET")) {
            found.add("HEAD");
        }
        return ORDER.stream().filter(found::contains).collect(Collectors.joining(", "));
    }
}
