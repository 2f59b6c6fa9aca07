package io.moosicbox.lb.config;

import java.util.List;

/**
 * A named group of interchangeable backends, and the requests it takes.
 *
 * @param hosts     exact names, {@code *.example.com} wildcards, or {@code *} for any host
 * @param paths     path prefixes; the longest match wins
 * @param algorithm selection algorithm name, such as {@code round_robin}
 * @param pool      retries, queueing, slow start, hash key
 */
public record ClusterConfig(
        String name,
        List<String> hosts,
        List<String> paths,
        String algorithm,
        HealthCheckConfig healthCheck,
        List<BackendSpec> backends,
        PoolSettings pool) {

    public static final String DEFAULT_NAME = "default";
    /** The cluster that answers ACME HTTP-01 challenges (cert-manager's or certbot's solvers). */
    public static final String SOLVER_NAME = "solver";

    public ClusterConfig {
        hosts = List.copyOf(hosts);
        paths = List.copyOf(paths);
        backends = List.copyOf(backends);
    }

    public ClusterConfig withBackends(List<BackendSpec> newBackends) {
        return new ClusterConfig(name, hosts, paths, algorithm, healthCheck, newBackends, pool);
    }
}
