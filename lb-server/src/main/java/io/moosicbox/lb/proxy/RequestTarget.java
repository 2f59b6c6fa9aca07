package io.moosicbox.lb.proxy;

import java.nio.charset.StandardCharsets;

/** The client's request target (path and query) as it goes to a backend. */
public final class RequestTarget {
    private RequestTarget() {}

    /**
     * The target as the client sent it, except that raw UTF-8 bytes (which Jetty reads into
     * characters) go out percent-encoded: written back as characters, they would be sent as
     * ISO-8859-1, and "café" would reach the backend as "caf\u00e9" in one byte.
     *
     * @return null when a % is not followed by two hex digits, which Jetty's client cannot send
     */
    public static String forBackend(String pathQuery) {
        if (!wellEscaped(pathQuery)) {
            return null;
        }
        for (int i = 0; i < pathQuery.length(); i++) {
            if (pathQuery.charAt(i) > 0x7F) {
                return percentEncodeNonAscii(pathQuery, i);
            }
        }
        return pathQuery;
    }

    private static boolean wellEscaped(String pathQuery) {
        for (int i = pathQuery.indexOf('%'); i >= 0; i = pathQuery.indexOf('%', i + 1)) {
            if (i + 2 >= pathQuery.length() || Character.digit(pathQuery.charAt(i + 1), 16) < 0
                    || Character.digit(pathQuery.charAt(i + 2), 16) < 0) {
                return false;
            }
        }
        return true;
    }

    private static String percentEncodeNonAscii(String s, int from) {
        StringBuilder out = new StringBuilder(s.length() + 16).append(s, 0, from);
        for (int i = from; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp <= 0x7F) {
                out.append((char) cp);
                continue;
            }
            for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
            }
        }
        return out.toString();
    }
}
