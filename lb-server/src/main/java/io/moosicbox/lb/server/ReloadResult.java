package io.moosicbox.lb.server;

import io.moosicbox.lb.config.Durations;
import io.moosicbox.lb.config.LbConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of a reload.
 *
 * @param applied       whether the new configuration now serves
 * @param problems      why it was refused; the running configuration then stays
 * @param needsRestart  changes that were read but take effect only at the next start (listeners, TLS, ...)
 */
public record ReloadResult(boolean applied, List<String> problems, List<String> needsRestart) {
    public ReloadResult {
        problems = List.copyOf(problems);
        needsRestart = List.copyOf(needsRestart);
    }

    public static ReloadResult refused(List<String> problems) {
        return new ReloadResult(false, problems, List.of());
    }

    public static ReloadResult ok(List<String> needsRestart) {
        return new ReloadResult(true, List.of(), needsRestart);
    }

    /** What differs between the two but is fixed while the process runs: bound sockets, TLS, timeouts. */
    static List<String> needingRestart(LbConfig running, LbConfig next) {
        List<String> changes = new ArrayList<>();
        diff(changes, "listeners.http", running.listeners().http(), next.listeners().http());
        diff(changes, "listeners.https", running.listeners().https(), next.listeners().https());
        diff(changes, "listeners.admin", running.listeners().admin(), next.listeners().admin());
        // Certificates are swapped live by the TLS listener; its other settings need a restart.
        LbConfig.TlsConfig was = running.tls();
        LbConfig.TlsConfig now = next.tls();
        diff(changes, "tls.redirect_http", was.redirectHttp(), now.redirectHttp());
        diff(changes, "tls.redirect_port", was.redirectPort(), now.redirectPort());
        diff(changes, "tls.hsts_max_age", Durations.format(was.hstsMaxAge()), Durations.format(now.hstsMaxAge()));
        diff(changes, "tls.reload_interval", Durations.format(was.reloadInterval()), Durations.format(now.reloadInterval()));
        diff(changes, "tls.backends", was.backends(), now.backends());
        diff(changes, "timeouts", running.timeouts(), next.timeouts());
        diff(changes, "shutdown.timeout", running.shutdown().timeout(), next.shutdown().timeout());
        diff(changes, "log_level", running.logLevel(), next.logLevel());
        diff(changes, "access_log", running.accessLog(), next.accessLog());
        // The WebSocket proxy takes its settings once, when it is built at start.
        diff(changes, "websocket", running.websocket(), next.websocket());
        return changes;
    }

    private static void diff(List<String> changes, String key, Object running, Object next) {
        if (!Objects.equals(running, next)) {
            changes.add(key + " changed (running " + running + ", file " + next + "): takes effect at the next restart");
        }
    }
}
