package io.moosicbox.lb.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One backend as configured: {@code URL [weight=N] [max_conns=N] [resolve=DURATION]}.
 *
 * @param url      scheme, host and port only, such as {@code http://10.0.0.1:8001}
 * @param weight   relative share for weighted algorithms, at least 1
 * @param maxConns most requests in flight at once; 0 means no limit
 * @param resolve  how often the host name is resolved again, every address becoming a backend
 *                 (DNS discovery); zero: the URL is one backend
 */
public record BackendSpec(URI url, int weight, int maxConns, Duration resolve) {
    /** A host name with '_' (and the port), which java.net.URI leaves as an authority without a host. */
    private static final Pattern UNDERSCORE_AUTHORITY =
            Pattern.compile("([A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?)(?::([0-9]{1,5}))?");

    public BackendSpec {
        resolve = resolve == null ? Duration.ZERO : resolve;
    }

    public BackendSpec(URI url, int weight, int maxConns) {
        this(url, weight, maxConns, Duration.ZERO);
    }

    /** Whether the host name stands for a changing set of addresses. */
    public boolean discovers() {
        return !resolve.isZero();
    }

    /** The same settings for one resolved address of a discovered host name. */
    public BackendSpec withHost(String host) {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return new BackendSpec(URI.create(url.getScheme() + "://" + h + ":" + HostPort.of(url).port()), weight, maxConns);
    }

    /** What an IPv6 address written without brackets looks like, port or not: hex digits, colons, dots. */
    private static final Pattern IPV6_WITH_PORT = Pattern.compile("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?");

    public static final int DEFAULT_WEIGHT = 1;

    /** {@code host:port} as the admin API and metrics name the backend. */
    public String address() {
        return HostPort.of(url).toString();
    }

    /**
     * Parses {@code http://host:port}, {@code https://host:port} or bare {@code host:port},
     * followed by optional {@code weight=N} and {@code max_conns=N}.
     *
     * @throws IllegalArgumentException with a message fit for a configuration error
     */
    public static BackendSpec parse(String text) {
        String[] parts = text.trim().split("\\s+");
        if (parts.length == 0 || parts[0].isEmpty()) {
            throw new IllegalArgumentException("empty backend entry");
        }
        URI url = parseUrl(parts[0]);
        int weight = DEFAULT_WEIGHT;
        int maxConns = 0;
        Duration resolve = Duration.ZERO;
        java.util.Map<String, String> given = new java.util.HashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String option = parts[i];
            int eq = option.indexOf('=');
            String key = eq < 0 ? option : option.substring(0, eq).toLowerCase(Locale.ROOT);
            String value = eq < 0 ? "" : option.substring(eq + 1);
            String before = given.putIfAbsent(key, option);
            if (before != null) {
                // The last one won without a word: "weight=5 ... weight=1" after an edit ran at weight 1.
                throw new IllegalArgumentException("'" + option + "' after '" + before + "': " + key + " is given twice for "
                        + parts[0] + "; give it once");
            }
            switch (key) {
                case "weight" -> weight = parseInt(key, value, 1, 10_000);
                case "max_conns" -> maxConns = parseInt(key, value, 0, 1_000_000);
                case "resolve" -> resolve = parseResolve(value);
                default -> throw new IllegalArgumentException(eq < 0 && option.contains(":")
                        // "http://a:1 http://b:2": a second backend after a space, where a comma belongs.
                        ? "'" + option + "' after " + parts[0] + ": separate backends with commas"
                        : "unknown backend option '" + option + "'; expected weight=N, max_conns=N or resolve=DURATION");
            }
        }
        return new BackendSpec(url, weight, maxConns, resolve);
    }

    /** Normalises a backend URL to {@code scheme://host:port}. */
    public static URI parseUrl(String text) {
        String s = text.trim();
        if (!s.contains("://")) {
            s = "http://" + s;
        }
        String authorityText = s.substring(s.indexOf("://") + 3).split("[/?#]", 2)[0];
        authorityText = authorityText.substring(authorityText.lastIndexOf('@') + 1);
        if (authorityText.contains(";")) {
            throw new IllegalArgumentException("'" + text + "': separate backends with commas, not ';'");
        }
        if (authorityText.indexOf(':') != authorityText.lastIndexOf(':') && IPV6_WITH_PORT.matcher(authorityText).matches()) {
            // ::1:8080 was "has no host": an IPv6 address cannot be told from its port without brackets.
            throw new IllegalArgumentException("'" + text + "': write an IPv6 address in brackets, such as [::1]:8080");
        }
        URI uri;
        try {
            uri = new URI(s);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + text + "' is not a URL; expected http://host:port or host:port");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("'" + text + "' has scheme '" + scheme + "'; expected http or https");
        }
        String host = uri.getHost();
        int port = uri.getPort();
        if (host == null) {
            // java.net.URI has no host for a name with '_', such as Docker Compose's moosicbox_server
            // (the MoosicBox balancer took them): read the authority itself.
            Matcher m = uri.getRawAuthority() == null ? null : UNDERSCORE_AUTHORITY.matcher(uri.getRawAuthority());
            if (m == null || !m.matches()) {
                throw new IllegalArgumentException("'" + text + "' has no host; expected http://host:port or host:port");
            }
            if (scheme.equals("https")) {
                throw new IllegalArgumentException("'" + text + "': a host name with '_' cannot be in a TLS certificate; "
                        + "use http:// or a name without '_'");
            }
            host = m.group(1);
            port = m.group(3) == null ? -1 : Integer.parseInt(m.group(3));
        }
        String path = uri.getRawPath();
        if ((path != null && !path.isEmpty() && !path.equals("/")) || uri.getRawQuery() != null || uri.getRawUserInfo() != null
                || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("'" + text + "' has a path, query, fragment or user; a backend is scheme://host:port only");
        }
        String authority = uri.getRawAuthority();
        if (port == 0 || (authority != null && authority.endsWith(":"))) {
            // Port 0 or "host:" are typos; taken for 80, they sent every request to the wrong place without a word.
            throw new IllegalArgumentException("'" + text + "' has no port number after ':'; expected 1..65535");
        }
        port = port > 0 ? port : (scheme.equals("https") ? 443 : 80);
        if (port > 65535) {
            throw new IllegalArgumentException("'" + text + "' has port " + port + "; expected 1..65535");
        }
        return URI.create(scheme + "://" + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port);
    }

    /** A re-resolution interval: 0 (off) or at least one second, so that DNS is not hammered. */
    public static Duration parseResolve(String value) {
        Duration d;
        try {
            d = Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("resolve='" + value + "': " + e.getMessage());
        }
        if (!d.isZero() && d.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("resolve='" + value + "': expected 0 (off) or at least 1s");
        }
        return d;
    }

    private static int parseInt(String key, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(key + "='" + value + "': expected a whole number from " + min + " to " + max);
    }

    @Override
    public String toString() {
        return url + (weight != DEFAULT_WEIGHT ? " weight=" + weight : "") + (maxConns != 0 ? " max_conns=" + maxConns : "")
                + (discovers() ? " resolve=" + Durations.format(resolve) : "");
    }
}
