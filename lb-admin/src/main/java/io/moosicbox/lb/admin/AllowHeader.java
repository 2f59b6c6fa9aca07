package io.moosicbox.lb.admin;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.Servlet;
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
 * it), listing the methods of the path asked, so that a script learns the right method from any
 * wrong one: those of a {@link PathMethods} servlet's path, or else those the servlet implements.
 * Methods that the servlet does not implement (TRACE, CONNECT, unknown ones) are answered 405
 * here, and 404 on a path with no endpoint, as OPTIONS is there.
 */
final class AllowHeader implements Filter {
    private static final Map<String, String> METHODS = Map.of(
            "doGet", "GET", "doPost", "POST", "doPut", "PUT", "doDelete", "DELETE", "doPatch", "PATCH");
    private static final List<String> ORDER = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

    private final ServletHandler servlets;
    private final Map<Class<?>, String> implemented = new ConcurrentHashMap<>();

    AllowHeader(ServletHandler servlets) {
        this.servlets = servlets;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        HttpServletRequest req = (HttpServletRequest) request;
        Servlet servlet = servletFor(req);
        if (servlet == null) {
            chain.doFilter(request, response);
            return;
        }
        String allow = servlet instanceof PathMethods paths ? paths.allowed(req) : implemented(servlet);
        HttpServletResponseWrapper withAllow = new HttpServletResponseWrapper((HttpServletResponse) response) {
            @Override
            public void setStatus(int status) {
                addAllow(status);
                super.setStatus(status);
            }

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
                if (status == HttpServletResponse.SC_METHOD_NOT_ALLOWED && allow != null && !containsHeader("Allow")) {
                    setHeader("Allow", allow);
                }
            }
        };
        String method = req.getMethod();
        boolean servletHasMethod = !"OPTIONS".equals(method) && List.of(implemented(servlet).split(", ")).contains(method);
        if (allow == null && !servletHasMethod) {
            // The servlet's own methods answer their own 404 on such a path.
            withAllow.sendError(HttpServletResponse.SC_NOT_FOUND);
            return;
        }
        if ("OPTIONS".equals(method)) {
            // The servlet library's own answer lists TRACE, which is answered 405 here.
            ((HttpServletResponse) response).setHeader("Allow", allow);
            return;
        }
        if (!servletHasMethod) {
            // TRACE echoes the request's headers, the admin token's Authorization among them; PATCH
            // and unknown methods got the servlet library's 501. What a servlet does not implement is 405.
            withAllow.sendError(HttpServletResponse.SC_METHOD_NOT_ALLOWED);
            return;
        }
        chain.doFilter(request, withAllow);
    }

    private Servlet servletFor(HttpServletRequest req) {
        ServletHolder holder = servlets.getServlet(req.getHttpServletMapping().getServletName());
        if (holder == null) {
            return null;
        }
        try {
            return holder.getServlet();
        } catch (ServletException e) {
            return null;
        }
    }

    private String implemented(Servlet servlet) {
        return implemented.computeIfAbsent(servlet.getClass(), AllowHeader::implemented);
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
