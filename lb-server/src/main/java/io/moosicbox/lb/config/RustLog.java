package io.moosicbox.lb.config;

import java.util.Locale;

/**
 * The seed balancer's {@code RUST_LOG} form, such as {@code moosicbox_load_balancer=debug} or
 * {@code info,moosicbox_load_balancer=trace}: the level that applies to this balancer.
 */
final class RustLog {
    private RustLog() {}

    /** @return the level, or null when the value does not parse */
    static String levelFor(String directives) {
        String global = null;
        String ours = null;
        for (String directive : directives.split(",")) {
            String d = directive.trim().toLowerCase(Locale.ROOT);
            if (d.isEmpty()) {
                continue;
            }
            int eq = d.indexOf('=');
            if (eq < 0) {
                if (!EnvConfig.LOG_LEVELS.contains(d)) {
                    // A bare target such as "moosicbox_load_balancer" means "all levels" in env_logger.
                    if (d.startsWith("moosicbox")) {
                        ours = "trace";
                        continue;
                    }
                    return null;
                }
                global = d;
                continue;
            }
            String target = d.substring(0, eq);
            String level = d.substring(eq + 1);
            if (!EnvConfig.LOG_LEVELS.contains(level)) {
                return null;
            }
            if (target.startsWith("moosicbox")) {
                ours = level;
            }
        }
        return ours != null ? ours : (global != null ? global : "info");
    }
}
