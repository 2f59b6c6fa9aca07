package io.moosicbox.lb.admin;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.moosicbox.lb.proxy.Exchange;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How an access log line looks: Apache/nginx "combined" plus the balancer's fields, or one JSON object. */
enum AccessLogFormat {
    /**
     * {@code client - - [time] "METHOD uri PROTOCOL" status bytes "referer" "user-agent"} then
     * {@code cluster="…" backend="…" upstream=SECONDS duration=SECONDS retries=N end=complete request_id="…"}: tools that parse
     * combined lines read the first part unchanged.
     */
    COMBINED {
        @Override
        void append(StringBuilder b, Exchange e) {
            b.append(dash(e.clientAddress())).append(" - - [").append(clfTime(arrival(e))).append("] \"");
            // A refused HTTP/2 request's :method can be any text: escaped, as a combined line's quoted parts are.
            quoted(b, e.method());
            b.append(' ');
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
            b.append(" request_id=\"");
            quoted(b, e.requestId());
            b.append('"');
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
            string(b, "request_id", e.requestId());
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

    /**
     * Apache's and nginx's escaping inside quotes: {@code \"}, {@code \\} and {@code \xHH} for
     * control bytes and for every byte above ASCII, so that a line stays one line of ASCII
     * whatever bytes a client sent (its UTF-8 as {@code \xc3\xa9}).
     */
    private static void quoted(StringBuilder b, String s) {
        if (s == null || s.isEmpty()) {
            b.append('-');
            return;
        }
        // Most values need no escape: copied whole up to the first that does.
        int clean = 0;
        for (char c; clean < s.length() && (c = s.charAt(clean)) >= 0x20 && c < 0x7f && c != '"' && c != '\\'; clean++) {
            // scanning
        }
        b.append(s, 0, clean);
        for (int i = clean; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                hex(b, c);
            } else if (c > 0x7f) {
                // Header bytes arrive as ISO-8859-1 chars, one per byte; anything wider is written as its UTF-8.
                if (c <= 0xff) {
                    hex(b, c);
                } else {
                    int end = Character.isHighSurrogate(c) && i + 1 < s.length() ? i + 2 : i + 1;
                    for (byte x : s.substring(i, end).getBytes(StandardCharsets.UTF_8)) {
                        hex(b, x & 0xff);
                    }
                    i = end - 1;
                }
            } else {
                b.append(c);
            }
        }
    }

    private static void hex(StringBuilder b, int octet) {
        b.append("\\x").append(Character.forDigit(octet >> 4, 16)).append(Character.forDigit(octet & 0xf, 16));
    }

    /**
     * A header value as the client meant it: HTTP reads header bytes as ISO-8859-1, and a client's
     * UTF-8 (a player's name with an accent) became {@code Ã©} in a UTF-8 file. Values that are not
     * valid UTF-8 stay as they were read.
     */
    static String asSent(String value) {
        boolean wide = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c > 0xff) {
                return value;
            }
            wide |= c > 0x7f;
        }
        if (!wide) {
            return value;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(value.getBytes(StandardCharsets.ISO_8859_1))).toString();
        } catch (java.nio.charset.CharacterCodingException notUtf8) {
            return value;
        }
    }

    private static void string(StringBuilder b, String key, String value) {
        b.append(",\"").append(key).append("\":");
        if (value == null) {
            b.append("null");
        } else {
            b.append('"');
            JsonStringEncoder.getInstance().quoteAsString(asSent(value), b);
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
