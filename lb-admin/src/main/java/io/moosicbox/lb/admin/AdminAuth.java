package io.moosicbox.lb.admin;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.function.Supplier;

/**
 * Who may change things. With a token: {@code Authorization: Bearer <token>} (401 without, 403
 * when wrong). Without one: loopback clients only (403 otherwise). Reads are never checked, so
 * that probes and scrapers need no secret.
 */
final class AdminAuth {
    /** Read per request: a reload that changes {@code admin.token} takes effect at once. */
    private final Supplier<String> token;

    AdminAuth(Supplier<String> token) {
        this.token = token;
    }

    /** @return true when the change may go ahead; otherwise the error answer was sent */
    boolean allowChange(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String expected = token.get();
        if (expected == null) {
            if (isLoopback(request.getRemoteAddr())) {
                return true;
            }
            Json.error(response, 403, "changes are accepted from loopback clients only; set ADMIN_TOKEN to allow them from elsewhere");
            return false;
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
