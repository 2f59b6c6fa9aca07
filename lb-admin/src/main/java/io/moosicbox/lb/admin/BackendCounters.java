package io.moosicbox.lb.admin;

import io.moosicbox.lb.pool.Backend;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * The counters each {@link Backend} keeps, read at scrape time: every one becomes a Prometheus
 * counter {@code moosicbox_lb_backend_<name>_total{cluster,backend}} and a field of
 * {@code counters} in {@code /api/backends}. A counter added to {@code Backend} is one line here.
 */
final class BackendCounters {
    /**
     * @param name  JSON key and metric name part, such as {@code failures}
     * @param help  what it counts, for the metric's HELP line
     * @param value reads the running total from the backend
     */
    record Counter(String name, String help, ToLongFunction<Backend> value) {
        String metricName() {
            return "moosicbox_lb_backend_" + name;
        }
    }

    static final List<Counter> ALL = List.of(
            new Counter("requests", "Requests sent to the backend, retries included", Backend::requests),
            new Counter("failures", "Exchanges that failed on the backend's side: connect error, timeout, reset before the response, connection ended mid-body", Backend::failures),
            new Counter("retries", "Requests that failed on this backend and were sent again to another one", Backend::retries),
            new Counter("ejections", "Times passive health took the backend out of rotation", Backend::ejections),
            new Counter("health_checks_passed", "Active health checks that passed", Backend::healthChecksPassed),
            new Counter("health_checks_failed", "Active health checks that failed", Backend::healthChecksFailed));

    private BackendCounters() {}
}
