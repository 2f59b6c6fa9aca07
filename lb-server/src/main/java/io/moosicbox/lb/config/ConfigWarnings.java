package io.moosicbox.lb.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Settings that are valid but do not do what they look like they do. Not errors: the balancer
 * runs as configured, and says so at start, on reload and in {@code --check}.
 */
public final class ConfigWarnings {
    private ConfigWarnings() {}

    public static List<String> of(LbConfig config) {
        List<String> warnings = new ArrayList<>();
        for (ClusterConfig c : config.clusters()) {
            if (!"round_robin".equals(c.algorithm())) {
                continue;
            }
            // nginx and HAProxy weigh their round robin; ours does not, and a weight=2 that does nothing goes unseen.
            List<String> weighted = c.backends().stream().filter(b -> b.weight() != 1).map(b -> b.address() + " weight=" + b.weight()).toList();
            if (!weighted.isEmpty()) {
                warnings.add("cluster " + c.name() + ": round_robin ignores weights (" + String.join(", ", weighted)
                        + "); LB_ALGORITHM=weighted_round_robin (algorithm: weighted_round_robin in the file) uses them");
            }
        }
        return warnings;
    }

    /** Variables of the environment only (no file key) that are set but have no effect. */
    public static List<String> ofEnvironment(Map<String, String> env) {
        List<String> warnings = new ArrayList<>();
        String burst = env.getOrDefault("RATE_LIMIT_BURST", "").trim();
        String rate = env.getOrDefault("RATE_LIMIT_PER_IP", "").trim();
        if (!burst.isEmpty() && (rate.isEmpty() || rate.equals("0"))) {
            warnings.add("RATE_LIMIT_BURST=" + burst + " has no effect: the rate limit is off (RATE_LIMIT_PER_IP="
                    + (rate.isEmpty() ? "unset" : rate) + ")");
        }
        return warnings;
    }
}
