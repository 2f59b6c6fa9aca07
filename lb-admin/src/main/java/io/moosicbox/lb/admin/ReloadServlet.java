package io.moosicbox.lb.admin;

import io.moosicbox.lb.server.LoadBalancer;
import io.moosicbox.lb.server.ReloadResult;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code POST /api/reload}: 200 when the new configuration serves, 422 with the problems when it was refused. */
final class ReloadServlet extends HttpServlet {
    private static final Logger LOG = LoggerFactory.getLogger(ReloadServlet.class);

    private final LoadBalancer lb;
    private final AdminAuth auth;

    ReloadServlet(LoadBalancer lb, AdminAuth auth) {
        this.lb = lb;
        this.auth = auth;
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!auth.allowChange(req, resp)) {
            LOG.warn("admin: refused reload from {}", req.getRemoteAddr());
            return;
        }
        // reload() logs the outcome, with who asked for it.
        ReloadResult result = lb.reload("POST /api/reload by " + auth.who(req));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("applied", result.applied());
        body.put("problems", result.problems());
        body.put("needs_restart", result.needsRestart());
        if (!result.applied()) {
            body.put("error", "the configuration was not applied; the running one stays");
            body.put("status", 422);
        }
        Json.write(resp, result.applied() ? 200 : 422, body);
    }
}
