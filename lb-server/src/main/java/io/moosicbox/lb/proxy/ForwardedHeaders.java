package io.moosicbox.lb.proxy;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.InetAddressSet;

/**
 * Tells the backend who the client is. Values the client sent are replaced, not appended to:
 * a client must not be able to claim another address; only a trusted proxy's are kept and
 * appended to.
 */
public final class ForwardedHeaders {
    private static final Set<HttpHeader> FORWARDING = EnumSet.of(HttpHeader.X_FORWARDED_FOR, HttpHeader.X_FORWARDED_PROTO,
            HttpHeader.X_FORWARDED_HOST, HttpHeader.X_FORWARDED_PORT, HttpHeader.FORWARDED);

    private ForwardedHeaders() {}

    /** What the headers say about the client: its address, the scheme, Host and port it reached the balancer with. */
    public record Client(String address, String scheme, String host, int port) {
        public static Client of(Request request) {
            return new Client(Request.getRemoteAddr(request), schemeOf(request), hostOf(request), Request.getLocalPort(request));
        }
    }

    /** Whether the client's peer is one of the trusted proxies, whose forwarding headers are kept. */
    public static boolean fromTrustedProxy(Request client, InetAddressSet trustedProxies) {
        if (trustedProxies.isEmpty()) {
            return false;
        }
        // The peer's address as the connection holds it: not formatted to text and parsed back on
        // every request, and never a name to look up.
        return client.getConnectionMetaData().getRemoteSocketAddress() instanceof InetSocketAddress peer
                && peer.getAddress() != null && trustedProxies.test(peer.getAddress());
    }

    /**
     * The forwarding headers of a request built from scratch (a WebSocket handshake to the
     * backend): a trusted proxy's are copied from the client's request and appended to.
     */
    public static HttpFields.Mutable of(Request client, boolean peerTrusted) {
        HttpFields.Mutable headers = HttpFields.build();
        if (peerTrusted) {
            for (HttpField field : client.getHeaders()) {
                if (field.getHeader() != null && FORWARDING.contains(field.getHeader())) {
                    headers.add(field);
                }
            }
        }
        set(client, headers, peerTrusted);
        return headers;
    }

    static void set(Request client, HttpFields.Mutable headers, boolean peerTrusted) {
        set(Client.of(client), headers, peerTrusted);
    }

    /**
     * @param peerTrusted the peer is a trusted proxy: when it said who its client is, its values
     *     stay and the peer is added to the chain
     */
    public static void set(Client client, HttpFields.Mutable headers, boolean peerTrusted) {
        if (peerTrusted) {
            // Also when it sent only X-Forwarded-Proto: its https must not become the http of its connection to us.
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
        List<String> chain = headers.getValuesList(HttpHeader.X_FORWARDED_FOR);
        List<String> before = headers.getValuesList(HttpHeader.FORWARDED);
        // A proxy that speaks only RFC 7239 named its clients in Forwarded: the X-Forwarded-For chain starts with them.
        String clients = chain.isEmpty() ? forwardedFor(before) : String.join(", ", chain);
        headers.put(HttpHeader.X_FORWARDED_FOR, clients.isEmpty() ? client.address() : clients + ", " + client.address());
        // Such a proxy said in its own element (the last) which scheme and host its client used.
        List<String> elements = HeaderLists.of(before);
        String last = elements.isEmpty() ? "" : elements.getLast();
        if (!headers.contains(HttpHeader.X_FORWARDED_PROTO)) {
            String proto = parameter(last, "proto");
            headers.put(HttpHeader.X_FORWARDED_PROTO, "https".equalsIgnoreCase(proto) || "http".equalsIgnoreCase(proto)
                    ? proto.toLowerCase(java.util.Locale.ROOT) : client.scheme());
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_HOST)) {
            String host = parameter(last, "host");
            headers.put(HttpHeader.X_FORWARDED_HOST, host != null && !host.isEmpty() ? host : client.host());
        }
        if (!headers.contains(HttpHeader.X_FORWARDED_PORT)) {
            headers.put(HttpHeader.X_FORWARDED_PORT, Integer.toString(client.port()));
        }
        headers.put(HttpHeader.FORWARDED, before.isEmpty() ? forwarded(client) : String.join(", ", before) + ", " + forwarded(client));
    }

    /** The {@code for=} nodes of Forwarded values, as X-Forwarded-For writes them: without quotes, brackets or ports. */
    static String forwardedFor(List<String> forwarded) {
        List<String> nodes = new ArrayList<>();
        for (String element : HeaderLists.of(forwarded)) {
            String node = parameter(element, "for");
            if (node != null) {
                nodes.add(bareNode(node));
            }
        }
        return String.join(", ", nodes);
    }

    /** The value of one {@code name=value} pair of a Forwarded element (its quotes already dropped), or null. */
    private static String parameter(String element, String name) {
        for (String pair : element.split(";")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).trim().equalsIgnoreCase(name)) {
                return pair.substring(eq + 1).trim();
            }
        }
        return null;
    }

    private static String bareNode(String node) {
        if (node.startsWith("[")) {
            int close = node.indexOf(']');
            return close > 0 ? node.substring(1, close) : node;
        }
        int colon = node.indexOf(':');
        return colon > 0 ? node.substring(0, colon) : node;
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
        boolean defaultPort = port <= 0 || (client.getConnectionMetaData().isSecure() ? port == 443 : port == 80);
        if (name.contains(":") && !name.startsWith("[")) {
            name = "[" + name + "]";
        }
        return defaultPort ? name : name + ":" + port;
    }

    /**
     * The connection's scheme. Not {@link Request#isSecure()} nor the request line's: an
     * absolute-form target (GET https://host/ HTTP/1.1) sets both, on a plain connection too.
     */
    private static String schemeOf(Request client) {
        return client.getConnectionMetaData().isSecure() ? "https" : "http";
    }

    /**
     * The path the routing sees: decoded, dot segments resolved, as nginx matches its locations,
     * so that /x/../api/x and /%61pi/x reach the /api/ cluster and a challenge prefix cannot be
     * faked with /.well-known/acme-challenge/../../x. The backend still gets the path as sent.
     */
    public static String routingPath(Request client) {
        String canonical = client.getHttpURI().getCanonicalPath();
        return canonical != null ? canonical : client.getHttpURI().getPath();
    }

    /** RFC 7239 node: IPv6 addresses are quoted and bracketed. */
    private static String node(String address) {
        return address.contains(":") ? "\"[" + address + "]\"" : address;
    }
}
