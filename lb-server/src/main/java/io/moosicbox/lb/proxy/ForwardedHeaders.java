package io.moosicbox.lb.proxy;

import java.util.List;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * Tells the backend who the client is. Values the client sent are replaced, not appended to:
 * a client must not be able to claim another address; only a trusted proxy's are kept and
 * appended to.
 */
public final class ForwardedHeaders {
    private ForwardedHeaders() {}

    static void set(Request client, HttpFields.Mutable headers, boolean peerTrusted) {
        if (peerTrusted && headers.contains(HttpHeader.X_FORWARDED_FOR)) {
            appendTo(client, headers);
            return;
        }
        set(client, headers);
    }

    /** The peer is a trusted proxy that said who its client is: its values stay, the peer is added to the chain. */
    private static void appendTo(Request client, HttpFields.Mutable headers) {
        String peer = Request.getRemoteAddr(client);
        headers.put(HttpHeader.X_FORWARDED_FOR, String.join(", ", headers.getValuesList(HttpHeader.X_FORWARDED_FOR)) + ", " + peer);
        String scheme = schemeOf(client);
        String host = hostOf(client);
        if (!headers.contains(HttpHeader.X_FORWARDED_PROTO)) {
            headers.put(HttpHeader.X_FORWARDED_PROTO, scheme);
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_HOST)) {
            headers.put(HttpHeader.X_FORWARDED_HOST, host);
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_PORT)) {
            headers.put(HttpHeader.X_FORWARDED_PORT, Integer.toString(Request.getLocalPort(client)));
        }
        String forwarded = "for=" + node(peer) + ";host=\"" + host + "\";proto=" + scheme;
        List<String> before = headers.getValuesList(HttpHeader.FORWARDED);
        headers.put(HttpHeader.FORWARDED, before.isEmpty() ? forwarded : String.join(", ", before) + ", " + forwarded);
    }

    /** The client's own values, whatever it sent. */
    public static void set(Request client, HttpFields.Mutable headers) {
        String clientAddress = Request.getRemoteAddr(client);
        String scheme = schemeOf(client);
        String host = hostOf(client);
        headers.put(HttpHeader.X_FORWARDED_FOR, clientAddress);
        headers.put(HttpHeader.X_FORWARDED_PROTO, scheme);
        headers.put(HttpHeader.X_FORWARDED_HOST, host);
        headers.put(HttpHeader.X_FORWARDED_PORT, Integer.toString(Request.getLocalPort(client)));
        headers.remove(HttpHeader.X_FORWARDED_SERVER);
        headers.put(HttpHeader.FORWARDED, "for=" + node(clientAddress) + ";host=\"" + host + "\";proto=" + scheme);
    }

    /** The Host the client asked for; HTTP/2 clients send an authority instead of a Host header. */
    public static String hostOf(Request client) {
        String host = client.getHeaders().get(HttpHeader.HOST);
        if (host != null && !host.isEmpty()) {
            return host;
        }
        String name = Request.getServerName(client);
        int port = Request.getServerPort(client);
        boolean defaultPort = port <= 0 || (client.isSecure() ? port == 443 : port == 80);
        if (name.contains(":") && !name.startsWith("[")) {
            name = "[" + name + "]";
        }
        return defaultPort ? name : name + ":" + port;
    }

    private static String schemeOf(Request client) {
        String scheme = client.getHttpURI().getScheme();
        return scheme != null ? scheme : client.isSecure() ? "https" : "http";
    }

    /** RFC 7239 node: IPv6 addresses are quoted and bracketed. */
    private static String node(String address) {
        return address.contains(":") ? "\"[" + address + "]\"" : address;
    }
}
