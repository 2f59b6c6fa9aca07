package io.moosicbox.lb.admin;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.moosicbox.lb.proxy.Exchange;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How an access log line looks: Apache/nginx "combined" plus the balancer's fields, or one JSON object. */
enum AccessLogFormat {
    /**
     * {@code client - - [time] "METHOD uri PROTOCOL" status bytes "referer" "user-agent"} then
     * {@code cluster="…" backend="…" upstream=SECONDS duration=SECONDS retries=N end=complete}: tools that parse
     * combined lines read the first part unchanged.
     */
    COMBINED {
        @Override
        void append(StringBuilder b, Exchange e) {
            b.append(dash(e.clientAddress())).append(" - - [").append(clfTime(arrival(e))).append("] \"").append(e.method()).append(' ');
            quoted(b, e.uri());
            b.append(' ').append(e.protocol()).append("\" ").append(e.status()).append(' ');
            if (e.responseBytes() > 0) {
                b.append(e.responseBytes());
            } else {
                b.append('-');
            }
            b.append(" \"");
            quoted(b, e.referer());
            b.append("\" \"");
            quoted(b, e.userAgent());
            b.append("\" cluster=\"");
            quoted(b, e.cluster());
            b.append("\" backend=\"");
            quoted(b, e.backend());
            b.append("\" upstream=");
            if (e.upstreamNanos() >= 0) {
                seconds(b, e.upstreamNanos());
            } else {
                b.append('-');
            }
            b.append(" duration=");
            seconds(b, e.durationNanos());
            b.append(" retries=").append(e.retries());
            b.append(" end=").append(e.end().label());
        }
    },
    /** One JSON object per line; absent values are null. */
    JSON {
        @Override
        void append(StringBuilder b, Exchange e) {
            b.append("{\"time\":\"").append(arrival(e)).append('"');
            string(b, "client", e.clientAddress());
            string(b, "method", e.method());
            string(b, "uri", e.uri());
            string(b, "protocol", e.protocol());
            b.append(",\"status\":").append(e.status());
            b.append(",\"bytes\":").append(e.responseBytes());
            string(b, "referer", e.referer());
            string(b, "user_agent", e.userAgent());
            string(b, "cluster", e.cluster());
            string(b, "backend", e.backend());
            b.append(",\"upstream_seconds\":");
            if (e.upstreamNanos() >= 0) {
                seconds(b, e.upstreamNanos());
            } else {
                b.append("null");
            }
            b.append(",\"duration_seconds\":");
            seconds(b, e.durationNanos());
            b.append(",\"retries\":").append(e.retries());
            b.append(",\"backend_failure\":").append(e.backendFailure());
            b.append(",\"end\":\"").append(e.end().label()).append('"');
            b.append('}');
        }
    };

    private static final DateTimeFormatter CLF_TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US).withZone(ZoneId.systemDefault());
    /** The last second formatted: thousands of lines share it, and formatting a date was the writer's top cost. */
    private static volatile FormattedSecond lastSecond = new FormattedSecond(Long.MIN_VALUE, "");

    private record FormattedSecond(long epochSecond, String text) {}

    abstract void append(StringBuilder b, Exchange e);

    /** Wall-clock arrival time, worked out here rather than on the request thread. */
    private static Instant arrival(Exchange e) {
        long agoNanos = System.nanoTime() - e.startNanos();
        return Instant.now().minusNanos(agoNanos);
    }

    private static String clfTime(Instant time) {
        FormattedSecond last = lastSecond;
        if (last.epochSecond() != time.getEpochSecond()) {
            last = new FormattedSecond(time.getEpochSecond(), CLF_TIME.format(time));
            lastSecond = last;
        }
        return last.text();
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    /** Apache's escaping inside quotes: {@code \"}, {@code \\} and {@code \xHH} for control bytes. */
    private static void quoted(StringBuilder b, String s) {
        if (s == null || s.isEmpty()) {
            b.append('-');
            return;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                b.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xf, 16));
            } else {
                b.append(c);
            }
        }
    }

    private static void string(StringBuilder b, String key, String value) {
        b.append(",\"").append(key).append("\":");
        if (value == null) {
            b.append("null");
        } else {
            b.append('"');
            JsonStringEncoder.getInstance().quoteAsString(value, b);
            b.append('"');
        }
    }

    private static void seconds(StringBuilder b, long nanos) {
        // Microsecond precision, as a plain decimal: 0.012345
        long micros = nanos / 1000;
        b.append(micros / 1_000_000).append('.');
        String frac = Long.toString(micros % 1_000_000);
        b.append("000000", 0, 6 - frac.length()).append(frac);
    }
}
