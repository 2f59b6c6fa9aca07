package io.moosicbox.lb.config;

import io.moosicbox.lb.route.Router;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The MoosicBox balancer's {@code CLUSTERS} variable, read as existing deployments write it:
 * {@code names:backends;names:backends}, both lists comma-separated, {@code *} the fallback and
 * {@code solver} the cluster that answers ACME challenges. Each entry becomes one cluster whose
 * hosts are its names; the MoosicBox balancer's TCP health check carries over as the default.
 */
public final class ClustersVariable {
    private ClustersVariable() {}

    /** @throws IllegalArgumentException naming every bad entry */
    public static List<ClusterConfig> parse(String value) {
        List<ClusterConfig> clusters = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        Set<String> seenHosts = new HashSet<>();
        Set<String> seenNames = new HashSet<>();
        int index = 0;
        for (String raw : value.split(";")) {
            String entry = raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            index++;
            int colon = entry.indexOf(':');
            if (colon <= 0 || colon == entry.length() - 1) {
                errors.add("entry " + index + " '" + entry + "': expected NAMES:BACKENDS, such as a.example.com,b.example.com:10.0.0.1:8001,10.0.0.2:8001");
                continue;
            }
            List<String> names = new ArrayList<>();
            for (String n : entry.substring(0, colon).split(",")) {
                String name = n.trim().toLowerCase(Locale.ROOT);
                if (name.isEmpty()) {
                    continue;
                }
                try {
                    // The file's rule, so that a host is valid in both forms or in neither: "exa mple.com"
                    // or "*example.com" was taken here and never matched a request.
                    ConfigFile.parseHost(name);
                } catch (IllegalArgumentException e) {
                    errors.add("entry " + index + ": host '" + n.trim() + "': " + e.getMessage());
                    continue;
                }
                if (!seenHosts.add(name)) {
                    errors.add("entry " + index + ": '" + name + "' is already named by an earlier entry");
                } else {
                    names.add(name);
                }
            }
            List<BackendSpec> backends = new ArrayList<>();
            for (String b : entry.substring(colon + 1).split(",")) {
                if (b.isBlank()) {
                    continue;
                }
                try {
                    BackendSpec spec = BackendSpec.parse(b);
                    if (backends.stream().anyMatch(x -> x.address().equals(spec.address()))) {
                        errors.add("entry " + index + ": backend '" + b.trim() + "' is listed twice");
                    } else {
                        backends.add(spec);
                    }
                } catch (IllegalArgumentException e) {
                    errors.add("entry " + index + ": " + e.getMessage());
                }
            }
            if (names.isEmpty() || backends.isEmpty()) {
                // A bad name or backend was reported above; a side with nothing on it is reported here.
                if (entry.substring(0, colon).replace(",", "").isBlank()) {
                    errors.add("entry " + index + " '" + entry + "': no host name before ':'");
                }
                if (entry.substring(colon + 1).replace(",", "").isBlank()) {
                    errors.add("entry " + index + " '" + entry + "': no backend after ':'");
                }
                continue;
            }
            ClusterConfig c = toCluster(names, backends);
            if (!seenNames.add(c.name())) {
                errors.add("entry " + index + ": cluster name '" + c.name() + "' is used twice");
                continue;
            }
            clusters.add(c);
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
        if (clusters.isEmpty()) {
            throw new IllegalArgumentException("no cluster listed; expected names:backends;names:backends");
        }
        return clusters;
    }

    private static ClusterConfig toCluster(List<String> names, List<BackendSpec> backends) {
        String name;
        List<String> hosts = new ArrayList<>(names);
        List<String> paths = List.of();
        if (names.contains(Router.SOLVER)) {
            name = Router.SOLVER;
            hosts.remove(Router.SOLVER);
            if (hosts.isEmpty()) {
                // Only the challenges: a path route on any host, so that it never becomes a fallback.
                paths = List.of(Router.ACME_CHALLENGE_PREFIX);
            }
        } else if (names.equals(List.of("*"))) {
            name = ClusterConfig.DEFAULT_NAME;
        } else {
            name = names.getFirst();
        }
        return new ClusterConfig(name, hosts, paths, "round_robin", HealthCheckConfig.defaults(), backends,
                PoolSettings.defaults());
    }
}
