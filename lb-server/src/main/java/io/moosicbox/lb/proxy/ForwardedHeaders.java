package io.moosicbox.lb.proxy;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * Tells the backend who the client is. Values the client sent are replaced, not appended to:
 * a client must not be able to claim another address.
 */
final class ForwardedHeaders {
    private ForwardedHeaders() {}

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
