package io.moosicbox.lb.websocket;

import io.moosicbox.lb.proxy.HeaderLists;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The headers of a handshake message that belong to its own connection (RFC 9110 7.6.1) and are
 * never passed to the other side: the fixed list Jetty's proxy drops for plain requests, and every
 * name the message's Connection lines give. Jetty writes the upgrade's own Connection and Upgrade
 * on each hop itself.
 */
final class HopByHop {
    private static final Set<String> FIXED = Set.of("connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade");

    private final Set<String> names;

    private HopByHop(Set<String> names) {
        this.names = names;
    }

    /** @param connectionValues the values of every Connection line of the message */
    static HopByHop of(List<String> connectionValues) {
        Set<String> names = new HashSet<>(FIXED);
        for (String name : HeaderLists.of(connectionValues)) {
            names.add(name.toLowerCase(Locale.ROOT));
        }
        return new HopByHop(names);
    }

    boolean contains(String headerName) {
        return names.contains(headerName.toLowerCase(Locale.ROOT));
    }
}
