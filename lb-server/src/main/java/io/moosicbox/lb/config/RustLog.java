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
        String family = null;
        String[] all = directives.split(",");
        for (String directive : all) {
            String d = directive.trim().toLowerCase(Locale.ROOT);
            if (d.isEmpty()) {
                continue;
            }
            int eq = d.indexOf('=');
            if (eq < 0) {
                if (!isLevel(d)) {
                    // A bare target such as "moosicbox_load_balancer" means "all levels" in env_logger.
                    if (isOurs(d)) {
                        ours = "trace";
                    } else if (d.startsWith("moosicbox")) {
                        family = "trace";
                    } else if (all.length == 1) {
                        // Alone, a word that is no level is a typo (RUST_LOG=warning), not another crate.
                        return null;
                    }
                    // Another crate's target (RUST_LOG=info,hyper): valid for env_logger, nothing of ours.
                    continue;
                }
                global = level(d);
                continue;
            }
            String target = d.substring(0, eq);
            String level = d.substring(eq + 1);
            if (!isLevel(level)) {
                return null;
            }
            // The balancer's own crate wins over the other MoosicBox crates a shared RUST_LOG names.
            if (isOurs(target)) {
                ours = level(level);
            } else if (target.startsWith("moosicbox")) {
                family = level(level);
            }
        }
        return ours != null ? ours : family != null ? family : global != null ? global : "info";
    }

    private static boolean isOurs(String target) {
        return target.equals("moosicbox_load_balancer") || target.equals("moosicbox_lb");
    }

    /** env_logger's levels: ours, and "off" (hyper=off is common in the seed's environments). */
    private static boolean isLevel(String s) {
        return EnvConfig.LOG_LEVELS.contains(s) || s.equals("off");
    }

    /** "off" is the quietest level this balancer has: errors only. */
    private static String level(String s) {
        return s.equals("off") ? "error" : s;
    }
}
