package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.RequestInfo;
import java.util.Locale;

/**
 * What {@code consistent_hash} hashes: the client's IP ({@code client_ip}), a header
 * ({@code header:NAME}) or a cookie ({@code cookie:NAME}). A request without the header or
 * cookie falls back to its client IP, so it still sticks somewhere.
 */
public record HashKey(Source source, String name) {
    public enum Source { CLIENT_IP, HEADER, COOKIE }

    /** @throws IllegalArgumentException naming the accepted forms */
    public static HashKey parse(String text) {
        String s = text == null ? "" : text.trim();
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.equals("client_ip")) {
            return new HashKey(Source.CLIENT_IP, null);
        }
        if (lower.startsWith("header:") && s.length() > 7) {
            return new HashKey(Source.HEADER, s.substring(7));
        }
        if (lower.startsWith("cookie:") && s.length() > 7) {
            return new HashKey(Source.COOKIE, s.substring(7));
        }
        throw new IllegalArgumentException("hash key '" + text + "': expected client_ip, header:NAME or cookie:NAME");
    }

    public String of(RequestInfo request) {
        String value = switch (source) {
            case CLIENT_IP -> null;
            case HEADER -> request.header(name);
            case COOKIE -> request.cookie(name);
        };
        return value != null ? value : request.clientAddress();
    }

    @Override
    public String toString() {
        return source == Source.CLIENT_IP ? "client_ip" : source.name().toLowerCase(Locale.ROOT) + ":" + name;
    }
}
