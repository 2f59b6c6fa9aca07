package io.moosicbox.lb.proxy;

import jakarta.servlet.http.HttpServletRequest;
import java.util.List;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * Tells the backend who the client is. Values the client sent are replaced, not appended to:
 * a client must not be able to claim another address; only a trusted proxy's are kept and
 * appended to.
 */
final class ForwardedHeaders {
    private ForwardedHeaders() {}

    static void set(HttpServletRequest client, HttpFields.Mutable headers, boolean peerTrusted) {
        if (peerTrusted && headers.contains(HttpHeader.X_FORWARDED_FOR)) {
            appendTo(client, headers);
            return;
        }
        set(client, headers);
    }

    /** The peer is a trusted proxy that said who its client is: its values stay, the peer is added to the chain. */
    private static void appendTo(HttpServletRequest client, HttpFields.Mutable headers) {
        String peer = client.getRemoteAddr();
        headers.put(HttpHeader.X_FORWARDED_FOR, String.join(", ", headers.getValuesList(HttpHeader.X_FORWARDED_FOR)) + ", " + peer);
        String scheme = client.getScheme();
        String host = hostOf(client);
        if (!headers.contains(HttpHeader.X_FORWARDED_PROTO)) {
            headers.put(HttpHeader.X_FORWARDED_PROTO, scheme);
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_HOST)) {
            headers.put(HttpHeader.X_FORWARDED_HOST, host);
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_PORT)) {
            headers.put(HttpHeader.X_FORWARDED_PORT, Integer.toString(client.getLocalPort()));
        }
        String forwarded = "for=" + node(peer) + ";host=\"" + host + "\";proto=" + scheme;
        List<String> before = headers.getValuesList(HttpHeader.FORWARDED);
        headers.put(HttpHeader.FORWARDED, before.isEmpty() ? forwarded : String.join(", ", before) + ", " + forwarded);
    }

    static void set(HttpServletRequest client, HttpFields.Mutable headers) {
        String clientAddress = client.getRemoteAddr();
        String scheme = client.getScheme();
        String host = hostOf(client);
        int port = client.getLocalPort();
        headers.put(HttpHeader.X_FORWARDED_FOR, clientAddress);
        headers.put(HttpHeader.X_FORWARDED_PROTO, scheme);
        headers.put(HttpHeader.X_FORWARDED_HOST, host);
        headers.put(HttpHeader.X_FORWARDED_PORT, Integer.toString(port));
        headers.remove(HttpHeader.X_FORWARDED_SERVER);
        headers.put(HttpHeader.FORWARDED, "for=" + node(clientAddress) + ";host=\"" + host + "\";proto=" + scheme);
    }

    /** The Host the client asked for; HTTP/2 clients send an authority instead of a Host header. */
    static String hostOf(HttpServletRequest client) {
        String host = client.getHeader("Host");
        if (host != null && !host.isEmpty()) {
            return host;
        }
        String name = client.getServerName();
        int port = client.getServerPort();
        boolean defaultPort = port <= 0 || ("https".equals(client.getScheme()) ? port == 443 : port == 80);
        if (name.contains(":") && !name.startsWith("[")) {
            name = "[" + name + "]";
        }
        return defaultPort ? name : name + ":" + port;
    }

    /** RFC 7239 node: IPv6 addresses are quoted and bracketed. */
    private static String node(String address) {
        return address.contains(":") ? "\"[" + address + "]\"" : address;
    }
}
