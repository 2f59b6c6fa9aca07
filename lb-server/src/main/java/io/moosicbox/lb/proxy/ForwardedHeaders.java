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

    /** What the headers say about the client: its address, the scheme, Host and port it reached the balancer with. */
    public record Client(String address, String scheme, String host, int port) {
        public static Client of(Request request) {
            return new Client(Request.getRemoteAddr(request), schemeOf(request), hostOf(request), Request.getLocalPort(request));
        }
    }

    static void set(Request client, HttpFields.Mutable headers, boolean peerTrusted) {
        set(Client.of(client), headers, peerTrusted);
    }

    /** The client's own values, whatever it sent. */
    public static void set(Request client, HttpFields.Mutable headers) {
        set(Client.of(client), headers, false);
    }

    /**
     * @param peerTrusted the peer is a trusted proxy: when it said who its client is, its values
     *     stay and the peer is added to the chain
     */
    public static void set(Client client, HttpFields.Mutable headers, boolean peerTrusted) {
        if (peerTrusted && headers.contains(HttpHeader.X_FORWARDED_FOR)) {
            appendTo(client, headers);
            return;
        }
        headers.put(HttpHeader.X_FORWARDED_FOR, client.address());
        headers.put(HttpHeader.X_FORWARDED_PROTO, client.scheme());
        headers.put(HttpHeader.X_FORWARDED_HOST, client.host());
        headers.put(HttpHeader.X_FORWARDED_PORT, Integer.toString(client.port()));
        headers.remove(HttpHeader.X_FORWARDED_SERVER);
        headers.put(HttpHeader.FORWARDED, forwarded(client));
    }

    private static void appendTo(Client client, HttpFields.Mutable headers) {
        headers.put(HttpHeader.X_FORWARDED_FOR,
                String.join(", ", headers.getValuesList(HttpHeader.X_FORWARDED_FOR)) + ", " + client.address());
        if (!headers.contains(HttpHeader.X_FORWARDED_PROTO)) {
            headers.put(HttpHeader.X_FORWARDED_PROTO, client.scheme());
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_HOST)) {
            headers.put(HttpHeader.X_FORWARDED_HOST, client.host());
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_PORT)) {
            headers.put(HttpHeader.X_FORWARDED_PORT, Integer.toString(client.port()));
        }
        List<String> before = headers.getValuesList(HttpHeader.FORWARDED);
        headers.put(HttpHeader.FORWARDED, before.isEmpty() ? forwarded(client) : String.join(", ", before) + ", " + forwarded(client));
    }

    private static String forwarded(Client client) {
        return "for=" + node(client.address()) + ";host=\"" + client.host() + "\";proto=" + client.scheme();
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
