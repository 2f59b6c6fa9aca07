package io.moosicbox.lb.admin;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;

/**
 * Client sockets of one listener and the bytes on the wire, told by the connections Jetty opens
 * on them. Jetty's {@code ConnectionStatistics} counts connections, and a socket has several: TLS
 * puts the SslConnection on the socket and ALPN then HTTP on its decrypted endpoint, whose bytes
 * are the same bytes again, unencrypted; an HTTP/1.1 connection upgraded to h2c is followed by an
 * HTTP/2 one on the same socket. So only connections on a socket's own endpoint count (a wrapped
 * endpoint, such as TLS's decrypted one, carries bytes already counted below it), and a socket
 * counts once however many connections take turns on it.
 */
final class SocketStatistics implements Connection.Listener {
    private final Set<EndPoint> open = ConcurrentHashMap.newKeySet();
    private final LongAdder opened = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();

    @Override
    public void onOpened(Connection connection) {
        EndPoint endPoint = connection.getEndPoint();
        if (!(endPoint instanceof EndPoint.Wrapper) && open.add(endPoint)) {
            opened.increment();
        }
    }

    @Override
    public void onClosed(Connection connection) {
        EndPoint endPoint = connection.getEndPoint();
        if (endPoint instanceof EndPoint.Wrapper) {
            return;
        }
        // Each connection that took a turn on the socket read and wrote its own share of the bytes.
        received.add(Math.max(0, connection.getBytesIn()));
        sent.add(Math.max(0, connection.getBytesOut()));
        // An upgrade closes the old connection while the socket stays open for the new one.
        if (!endPoint.isOpen()) {
            open.remove(endPoint);
        }
    }

    long open() {
        return open.size();
    }

    long opened() {
        return opened.sum();
    }

    /** Counted when each connection on the socket ends, as Jetty's connections report their bytes then. */
    long received() {
        return received.sum();
    }

    long sent() {
        return sent.sum();
    }
}
