package io.moosicbox.lb.dist;

import java.util.Locale;

/**
 * Configures jetty-slf4j-impl through its system properties, which it reads once, when the first
 * logger is made: this must run before that (tested by lb-it RoutingConfigTest), so the launcher
 * holds no static loggers, and neither may any class it uses before.
 */
final class LogSetup {
    private LogSetup() {}

    /** @param level the balancer's own level; Jetty's internals log at INFO at most, to stay readable */
    static void apply(String level) {
        String ours = level.toUpperCase(Locale.ROOT);
        apply(ours, switch (ours) {
            case "ERROR", "WARN" -> ours;
            default -> "INFO";
        });
    }

    static void apply(String ours, String jetty) {
        System.setProperty("ROOT.LEVEL", jetty);
        System.setProperty("org.eclipse.jetty.LEVEL", jetty);
        // Its one warning is about a client's request (two Host headers), which gets its 400: at
        // WARN, any client could write a log line per request.
        System.setProperty("org.eclipse.jetty.http.HttpParser.LEVEL", "ERROR");
        System.setProperty("io.moosicbox.lb.LEVEL", ours);
        System.setProperty("org.eclipse.jetty.logging.appender.NAME_CONDENSE", "true");
    }
}
