package io.moosicbox.lb.config;

import java.time.Duration;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as users write them: {@code 250ms}, {@code 5s}, {@code 2m}, {@code 1h}, or {@code 0}. */
public final class Durations {
    /**
     * The longest duration any setting takes. Beyond about 292 years Duration.toNanos() overflows,
     * and deadlines add it to System.nanoTime(): 999999999d passed and the health checker then threw
     * "long overflow" every second. An ejection backs off up to 32 times eject_time, which must still
     * fit; 1000 days still leaves HSTS its customary two years.
     */
    public static final Duration MAX = Duration.ofDays(1000);
    private static final Pattern FORM = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

    private Durations() {}

    /** @throws IllegalArgumentException with a message fit for a configuration error */
    public static Duration parse(String text) {
        String s = text == null ? "" : text.trim();
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = FORM.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a duration such as 250ms, 5s, 2m or 1h");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        if (d.compareTo(MAX) > 0) {
            throw new IllegalArgumentException("at most " + MAX.toDays() + "d");
        }
        return d;
    }

    /**
     * {@link #parse}, for a setting that is 0 (off) or at least {@code min}: a certificate check
     * every millisecond keeps a core busy, and an HSTS max-age under a second is sent as 0, which
     * tells browsers to forget HSTS.
     */
    public static Function<String, Duration> zeroOrAtLeast(Duration min) {
        return text -> {
            Duration d = parse(text);
            if (!d.isZero() && d.compareTo(min) < 0) {
                throw new IllegalArgumentException("expected 0 (off) or at least " + format(min));
            }
            return d;
        };
    }

    /** The shortest exact form, so that {@code format(parse(x))} round-trips. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
