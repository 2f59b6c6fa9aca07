package io.moosicbox.lb.admin;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The dashboard at {@code GET /} (a page, its script and its style, all from this jar: nothing
 * outside is reachable from many admin networks), and JSON 404 for every path no endpoint has.
 */
final class DashboardServlet extends HttpServlet implements PathMethods {
    private record Asset(String contentType, byte[] bytes) {}

    private final Map<String, Asset> assets = Map.of(
            "/", new Asset("text/html;charset=utf-8", load("dashboard.html")),
            "/dashboard.js", new Asset("text/javascript;charset=utf-8", load("dashboard.js")),
            "/dashboard.css", new Asset("text/css;charset=utf-8", load("dashboard.css")));

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Asset asset = assets.get(req.getRequestURI());
        if (asset == null) {
            Json.error(resp, 404, "no such endpoint: " + req.getRequestURI()
                    + "; see / (dashboard), /health, /ready, /metrics, /api/backends, /api/clusters");
            return;
        }
        resp.setStatus(200);
        resp.setContentType(asset.contentType());
        resp.setHeader("Cache-Control", "no-cache");
        resp.setHeader("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setContentLength(asset.bytes().length);
        resp.getOutputStream().write(asset.bytes());
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (assets.containsKey(req.getRequestURI())) {
            Json.error(resp, 405, "method POST is not allowed here");
        } else {
            Json.error(resp, 404, "no such endpoint: " + req.getRequestURI());
        }
    }

    @Override
    public String allowed(HttpServletRequest req) {
        return assets.containsKey(req.getRequestURI()) ? "GET, HEAD, OPTIONS" : null;
    }

    private static byte[] load(String name) {
        try (InputStream in = DashboardServlet.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
