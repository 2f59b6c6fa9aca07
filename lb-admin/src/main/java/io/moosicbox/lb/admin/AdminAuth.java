package io.moosicbox.lb.admin;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.function.Supplier;

/**
 * Who may change things. With a token: {@code Authorization: Bearer <token>} (401 without, 403
 * when wrong). Without one: loopback clients only (403 otherwise). Reads are never checked, so
 * that probes and scrapers need no secret.
 *
 * <p>A browser on the balancer's host is a loopback client too, and any web page it shows can
 * send it a POST. So a change that comes from a web page of another origin is refused, and
 * without a token the request must name the listener by address or as localhost: a page whose
 * own name an attacker resolves to 127.0.0.1 (DNS rebinding) is same-origin with itself.
 */
final class AdminAuth {
    /** Read per request: a reload that changes {@code admin.token} takes effect at once. */
    private final Supplier<String> token;

    AdminAuth(Supplier<String> token) {
        this.token = token;
    }

    /** @return true when the change may go ahead; otherwise the error answer was sent */
    boolean allowChange(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String origin = request.getHeader("Origin");
        if (origin != null && !sameOrigin(origin, request.getHeader("Host"))) {
            Json.error(response, 403, "changes are not accepted from a web page of another origin (" + origin + ")");
            return false;
        }
        String expected = token.get();
        if (expected == null) {
            if (!isLoopback(request.getRemoteAddr())) {
                Json.error(response, 403, "changes are accepted from loopback clients only; set ADMIN_TOKEN to allow them from elsewhere");
                return false;
            }
            if (!isLoopbackName(request.getServerName())) {
                Json.error(response, 403, "without ADMIN_TOKEN, changes must address the admin listener as localhost or by its IP address, not as "
                        + request.getServerName());
                return false;
            }
            return true;
        }
        String header = request.getHeader("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            response.setHeader("WWW-Authenticate", "Bearer realm=\"moosicbox-lb admin\"");
            Json.error(response, 401, "this change needs Authorization: Bearer <ADMIN_TOKEN>");
            return false;
        }
        // Comparing digests keeps the time independent of where the strings differ and of the token's length.
        if (!MessageDigest.isEqual(sha256(expected), sha256(header.substring(7).trim()))) {
            Json.error(response, 403, "the bearer token is not the admin token");
            return false;
        }
        return true;
    }

    /** For the log line of every change: the client's address and how it was let in. */
    String who(HttpServletRequest request) {
        return request.getRemoteAddr() + ":" + request.getRemotePort() + (token.get() == null ? " (loopback, no token set)" : " (with the admin token)");
    }

    /** Whether the Origin a browser sent is the admin listener itself (the dashboard's own page). */
    static boolean sameOrigin(String origin, String host) {
        if (host == null) {
            return false;
        }
        try {
            URI o = new URI(origin);
            if (o.getHost() == null || !"http".equalsIgnoreCase(o.getScheme()) && !"https".equalsIgnoreCase(o.getScheme())) {
                return false;
            }
            int port = o.getPort() >= 0 ? o.getPort() : "https".equalsIgnoreCase(o.getScheme()) ? 443 : 80;
            String expected = o.getHost() + ":" + port;
            String named = host.lastIndexOf(':') > host.lastIndexOf(']') ? host : host + ":80";
            return expected.equalsIgnoreCase(named);
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** An IP address (no name to rebind) or localhost, as a loopback client addresses the listener. */
    static boolean isLoopbackName(String serverName) {
        if (serverName == null) {
            return false;
        }
        String name = serverName.toLowerCase(java.util.Locale.ROOT);
        if (name.equals("localhost") || name.endsWith(".localhost")) {
            return true;
        }
        String literal = name.startsWith("[") && name.endsWith("]") ? name.substring(1, name.length() - 1) : name;
        boolean ipv4 = !literal.isEmpty() && literal.chars().allMatch(ch -> ch == '.' || (ch >= '0' && ch <= '9'));
        boolean ipv6 = literal.indexOf(':') >= 0 && literal.chars().allMatch(ch -> ch == ':' || ch == '.' || Character.digit(ch, 16) >= 0);
        return ipv4 || ipv6;
    }

    static boolean isLoopback(String address) {
        if (address == null) {
            return false;
        }
        String literal = address.startsWith("[") && address.endsWith("]") ? address.substring(1, address.length() - 1) : address;
        boolean ipv4 = !literal.isEmpty() && literal.chars().allMatch(ch -> ch == '.' || (ch >= '0' && ch <= '9'));
        boolean ipv6 = literal.indexOf(':') >= 0 && literal.chars().allMatch(ch -> ch == ':' || ch == '.' || ch == '%' || Character.digit(ch, 16) >= 0);
        if (!ipv4 && !ipv6) {
            return false;
        }
        try {
            // An IP literal (checked above): getByName parses it without a name lookup.
            return InetAddress.getByName(literal).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
