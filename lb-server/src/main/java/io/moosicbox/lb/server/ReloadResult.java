package io.moosicbox.lb.server;

import io.moosicbox.lb.config.Durations;
import io.moosicbox.lb.config.HostPort;
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

    /**
     * What differs between the two but is fixed while the process runs: bound sockets, TLS, timeouts.
     * One entry per setting, named as the file and the variables name it, its values as they are
     * written: {@code timeouts.idle (IDLE_TIMEOUT) changed from 1m to 30s: takes effect at the next restart}.
     */
    static List<String> needingRestart(LbConfig running, LbConfig next) {
        List<String> changes = new ArrayList<>();
        diff(changes, "listeners.http (BIND_ADDRESS)", address(running.listeners().http()), address(next.listeners().http()));
        diff(changes, "listeners.https (SSL_BIND_ADDRESS)", address(running.listeners().https()), address(next.listeners().https()));
        diff(changes, "listeners.admin (ADMIN_BIND_ADDRESS)", address(running.listeners().admin()), address(next.listeners().admin()));
        // Certificates are swapped live by the TLS listener; its other settings need a restart.
        LbConfig.TlsConfig was = running.tls();
        LbConfig.TlsConfig now = next.tls();
        diff(changes, "tls.redirect_http (SSL_REDIRECT_HTTP)", was.redirectHttp(), now.redirectHttp());
        diff(changes, "tls.redirect_port (SSL_REDIRECT_PORT)", was.redirectPort(), now.redirectPort());
        diff(changes, "tls.hsts_max_age (SSL_HSTS_MAX_AGE)", Durations.format(was.hstsMaxAge()), Durations.format(now.hstsMaxAge()));
        diff(changes, "tls.reload_interval (SSL_RELOAD_INTERVAL)", Durations.format(was.reloadInterval()), Durations.format(now.reloadInterval()));
        diff(changes, "tls.backends.ca_file (BACKEND_CA_FILE)", caFile(was.backends()), caFile(now.backends()));
        diff(changes, "tls.backends.insecure_skip_verify (BACKEND_TLS_INSECURE)",
                was.backends().insecureSkipVerify(), now.backends().insecureSkipVerify());
        diff(changes, "tls.backends.http2 (BACKEND_HTTP2)", was.backends().http2(), now.backends().http2());
        LbConfig.Timeouts t0 = running.timeouts();
        LbConfig.Timeouts t1 = next.timeouts();
        diff(changes, "timeouts.connect (CONNECT_TIMEOUT)", Durations.format(t0.connect()), Durations.format(t1.connect()));
        diff(changes, "timeouts.idle (IDLE_TIMEOUT)", Durations.format(t0.idle()), Durations.format(t1.idle()));
        diff(changes, "timeouts.response_headers (RESPONSE_HEADERS_TIMEOUT)",
                Durations.format(t0.responseHeaders()), Durations.format(t1.responseHeaders()));
        diff(changes, "shutdown.timeout (SHUTDOWN_TIMEOUT)",
                Durations.format(running.shutdown().timeout()), Durations.format(next.shutdown().timeout()));
        diff(changes, "log_level (LOG_LEVEL)", running.logLevel(), next.logLevel());
        diff(changes, "access_log.target (ACCESS_LOG)", accessLogTarget(running.accessLog()), accessLogTarget(next.accessLog()));
        diff(changes, "access_log.format (ACCESS_LOG_FORMAT)", running.accessLog().format(), next.accessLog().format());
        // The WebSocket proxy takes its settings once, when it is built at start.
        diff(changes, "websocket.idle_timeout (WEBSOCKET_IDLE_TIMEOUT)",
                Durations.format(running.websocket().idleTimeout()), Durations.format(next.websocket().idleTimeout()));
        diff(changes, "websocket.drain_grace (WEBSOCKET_DRAIN_GRACE)",
                Durations.format(running.websocket().drainGrace()), Durations.format(next.websocket().drainGrace()));
        return changes;
    }

    private static String address(HostPort address) {
        return address == null ? "(off)" : address.toString();
    }

    private static String caFile(LbConfig.BackendTls backends) {
        return backends.caFile() == null ? "(system trust store)" : backends.caFile();
    }

    private static String accessLogTarget(LbConfig.AccessLogConfig accessLog) {
        return accessLog.enabled() ? accessLog.target() : "off";
    }

    private static void diff(List<String> changes, String setting, Object running, Object next) {
        if (!Objects.equals(running, next)) {
            changes.add(setting + " changed from " + running + " to " + next + ": takes effect at the next restart");
        }
    }
}
