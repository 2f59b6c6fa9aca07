package io.moosicbox.lb.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.eclipse.jetty.util.InetAddressSet;

/**
 * Limits on what clients of the proxy listener may send, read from the environment.
 *
 * @param maxBodyBytes   largest request body accepted (413 above it); 0: no limit, because music
 *                       uploads are large and the body is streamed, never buffered
 * @param maxConnections most client connections open at once on the proxy listener; further
 *                       connections wait in the accept queue
 * @param ratePerIp      requests per second allowed from one client address (429 above it); 0: off
 * @param trustedProxies addresses and CIDR ranges of proxies in front of this one, whose
 *                       X-Forwarded-* and Forwarded headers are kept and appended to; empty: none
 * @param rateBurst      requests one client address may send at once before {@code ratePerIp}
 *                       applies (a player loading an album's cover art); at least 1
 */
public record ListenerLimits(long maxBodyBytes, int maxConnections, int ratePerIp, List<String> trustedProxies, int rateBurst) {
    public static final int DEFAULT_MAX_CONNECTIONS = 10_000;
    private static final Pattern ADDRESS_OR_CIDR = Pattern.compile("[0-9a-fA-F:.]*[:.][0-9a-fA-F:.]*(/\\d{1,3})?");

    public ListenerLimits {
        trustedProxies = List.copyOf(trustedProxies);
    }

    public ListenerLimits(long maxBodyBytes, int maxConnections, int ratePerIp) {
        this(maxBodyBytes, maxConnections, ratePerIp, List.of());
    }

    /** With a burst of as many requests as a second allows. */
    public ListenerLimits(long maxBodyBytes, int maxConnections, int ratePerIp, List<String> trustedProxies) {
        this(maxBodyBytes, maxConnections, ratePerIp, trustedProxies, Math.max(1, ratePerIp));
    }

    public static ListenerLimits defaults() {
        return new ListenerLimits(0, DEFAULT_MAX_CONNECTIONS, 0);
    }

    /** The trusted proxies as a set that matches addresses; empty when none are configured. */
    public InetAddressSet trustedProxySet() {
        InetAddressSet set = new InetAddressSet();
        trustedProxies.forEach(set::add);
        return set;
    }

    /** @throws ConfigException naming every bad variable and its value */
    public static ListenerLimits fromEnv(Map<String, String> env) throws ConfigException {
        List<String> problems = new ArrayList<>();
        long body = read(env, "MAX_BODY_SIZE", 0, Long.MAX_VALUE, problems, true);
        long connections = read(env, "MAX_CLIENT_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1_000_000, problems, false);
        long rate = read(env, "RATE_LIMIT_PER_IP", 0, 1_000_000, problems, false);
        long burst = read(env, "RATE_LIMIT_BURST", Math.max(1, rate), 1_000_000, problems, false);
        if (burst == 0) {
            problems.add("RATE_LIMIT_BURST=\"0\": expected at least 1 (one request at a time)");
        }
        if (connections == 0) {
            problems.add("MAX_CLIENT_CONNECTIONS=\"0\": expected at least 1");
        }
        List<String> trusted = new ArrayList<>();
        String proxies = env.getOrDefault("TRUSTED_PROXIES", "");
        for (String entry : proxies.split(",")) {
            String e = entry.trim();
            if (!e.isEmpty() && !validProxy(e)) {
                problems.add("TRUSTED_PROXIES=\"" + proxies + "\": \"" + e + "\" is not an IP address or CIDR range such as 10.0.0.0/8");
            } else if (!e.isEmpty()) {
                trusted.add(e);
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new ListenerLimits(body, (int) connections, (int) rate, trusted, (int) burst);
    }

    private static long read(Map<String, String> env, String name, long fallback, long max, List<String> problems, boolean size) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            long n = size ? parseSize(value) : Long.parseLong(value.trim());
            if (n < 0 || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            problems.add(name + "=\"" + value + "\": expected " + (size ? "a size such as 500m, 2g or a number of bytes (0: no limit)"
                    : "a whole number from 0 to " + max));
            return fallback;
        }
    }

    /** Literal addresses only: a host name would be looked up in DNS while the configuration is read. */
    private static boolean validProxy(String entry) {
        if (!ADDRESS_OR_CIDR.matcher(entry).matches()) {
            return false;
        }
        String address = entry.split("/", 2)[0];
        if (!address.contains(":") && address.split("\\.", -1).length != 4) {
            // Java reads 10.1 as 10.0.0.1: a typo would trust another address.
            return false;
        }
        try {
            new InetAddressSet().add(entry);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** {@code 1024}, {@code 64k}, {@code 500m}, {@code 2g} (binary units). */
    static long parseSize(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        int shift = switch (s.isEmpty() ? ' ' : s.charAt(s.length() - 1)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            default -> 0;
        };
        long n = Long.parseLong(shift == 0 ? s : s.substring(0, s.length() - 1));
        if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
            throw new NumberFormatException();
        }
        return n << shift;
    }
}
