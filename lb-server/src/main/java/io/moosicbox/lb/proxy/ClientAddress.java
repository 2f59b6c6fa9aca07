package io.moosicbox.lb.proxy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.InetAddressSet;

/**
 * The client's address as the rate limit, {@code consistent_hash} on {@code client_ip} and the
 * access log see it. Behind a trusted proxy (an ingress, a CDN) the connection's peer is that
 * proxy for every client, so the address is taken from its X-Forwarded-For (or Forwarded) chain,
 * as nginx's {@code real_ip_recursive} does: the rightmost entry that is not itself a trusted
 * proxy. Entries further left were written by the client and could name anyone.
 */
public final class ClientAddress {
    private ClientAddress() {}

    public static String of(Request request, InetAddressSet trustedProxies) {
        String peer = Request.getRemoteAddr(request);
        if (!ForwardedHeaders.fromTrustedProxy(request, trustedProxies)) {
            return peer;
        }
        List<String> chain = HeaderLists.of(request.getHeaders(), HttpHeader.X_FORWARDED_FOR);
        if (chain.isEmpty()) {
            String forwarded = ForwardedHeaders.forwardedFor(request.getHeaders().getValuesList(HttpHeader.FORWARDED));
            chain = forwarded.isEmpty() ? List.of() : List.of(forwarded.split(", "));
        }
        String client = fromChain(chain, trustedProxies);
        return client != null ? client : peer;
    }

    /**
     * @return the rightmost entry that is not a trusted proxy, the leftmost when all are, or null
     *     for an empty chain. An entry that is not an IP address ({@code unknown}, or whatever a
     *     client wrote) ends the walk at the trusted hop to its right, as nginx's realip does: it
     *     is no address to count or hash, and it would go into the access log as it was written.
     */
    static String fromChain(List<String> chain, InetAddressSet trustedProxies) {
        String trustedHop = null;
        for (int i = chain.size() - 1; i >= 0; i--) {
            String hop = bare(chain.get(i).trim());
            InetAddress address = literal(hop);
            if (address == null) {
                return trustedHop;
            }
            if (!trustedProxies.test(address)) {
                return hop;
            }
            trustedHop = hop;
        }
        return trustedHop;
    }

    /** Without brackets ([2001:db8::1]) or the port some proxies add (203.0.113.7:51234). */
    private static String bare(String hop) {
        if (hop.startsWith("[")) {
            int close = hop.indexOf(']');
            return close > 0 ? hop.substring(1, close) : hop;
        }
        int colon = hop.indexOf(':');
        return colon > 0 && hop.indexOf(':', colon + 1) < 0 ? hop.substring(0, colon) : hop;
    }

    /** The address of an IP literal; null for anything else ("unknown", an obfuscated node), never a name lookup. */
    static InetAddress literal(String hop) {
        if (hop.indexOf(':') < 0) {
            return ipv4(hop);
        }
        for (int i = 0; i < hop.length(); i++) {
            char c = hop.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) {
                return null;
            }
        }
        try {
            // A text with a colon is parsed as an IPv6 literal or refused, never looked up.
            return InetAddress.getByName(hop);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Parsed here: InetAddress.getByName looks up a text such as 999.1.1.1 in the DNS. */
    private static InetAddress ipv4(String hop) {
        String[] parts = hop.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String part = parts[i];
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int value = Integer.parseInt(part);
            if (value > 255) {
                return null;
            }
            bytes[i] = (byte) value;
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
