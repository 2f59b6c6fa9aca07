package io.moosicbox.lb.server;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;
import org.eclipse.jetty.http2.CloseState;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Connection;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.IdleTimeout;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends the client connections a drain leaves open, without losing a request a client sends on
 * one of them at that moment. Jetty does part of it: HTTP/1.1 responses get {@code Connection:
 * close}, and those connections close after them. What is left, and how it ends:
 *
 * <p>HTTP/2: Jetty's own graceful GOAWAY (last-stream-id 2^31-1) is followed by the final one as
 * soon as the session has no stream, without the round trip RFC 9113 6.8 asks for; the final
 * last-stream-id is read before the session stops taking streams, so a stream that arrives in
 * between is served while the client, told it was not, fails it or sends it again. So at drain
 * start {@link #goAway()} sends every session a GOAWAY that promises to serve every stream
 * (last-stream-id 2^31-3, which Jetty does not treat as graceful, so no final GOAWAY follows on
 * its own). Clients open no new stream after it, finish the ones they have, then send their own
 * GOAWAY and close. A session that stays silent with no stream for {@link #GOAWAY_GRACE_MS} (far
 * longer than any round trip, so no stream can still be on its way) gets the final GOAWAY with the
 * real last-stream-id, and is closed if it stays silent as long again. Closing the socket any
 * sooner, even with no stream left on the server, cuts responses the client has received but not
 * yet read (the Jetty 12.1 HTTP/2 client fails them with ClosedChannelException).
 *
 * <p>HTTP/1.1 keep-alive connections that wait for their next request stay open until their idle
 * timeout. Once nothing is in flight anywhere, a connection silent for {@link #QUIET_MS} with
 * nothing of a next request read has its socket input shut: Jetty then reads end-of-input in its
 * own read path and closes the connection. A request the client sent before that is still read
 * first and answered (with {@code Connection: close}); one sent after it is never read, and the
 * client, which got no byte of an answer, sends it again. Other protocols (WebSocket) are closed
 * by their own layer through {@link LoadBalancer#onDrainStart}.
 */
final class DrainingConnections {
    private static final Logger LOG = LoggerFactory.getLogger(DrainingConnections.class);
    /** How long an HTTP/1.1 connection must be silent, once nothing is in flight, before its input is shut. */
    static final long QUIET_MS = 250;
    /** How long a connection may stay silent, with no request or stream, at each step before the next one. */
    static final long GOAWAY_GRACE_MS = 2_000;
    /** The largest client stream id below 2^31-1, which Jetty would take for a graceful GOAWAY. */
    private static final int SERVE_ALL_STREAMS = Integer.MAX_VALUE - 2;

    private final List<Connector> listeners;
    private final LongSupplier requestsInFlight;
    /** Connections this drain has already acted on once; touched by the closer thread only. */
    private final Set<EndPoint> told = new HashSet<>();

    /** @param listeners the listeners being drained: not the admin one, which serves until the stop */
    DrainingConnections(List<Connector> listeners, LongSupplier requestsInFlight) {
        this.listeners = listeners;
        this.requestsInFlight = requestsInFlight;
    }

    /** Sends every HTTP/2 session the first GOAWAY; call once the listeners no longer accept. */
    int goAway() {
        int sessions = 0;
        for (Connector connector : listeners) {
            for (EndPoint endPoint : connector.getConnectedEndPoints()) {
                if (applicationConnection(endPoint) instanceof HTTP2Connection h2
                        && h2.getSession().getCloseState() == CloseState.NOT_CLOSED) {
                    h2.getSession().goAway(new GoAwayFrame(SERVE_ALL_STREAMS, ErrorCode.NO_ERROR.code,
                            "shutdown".getBytes(StandardCharsets.US_ASCII)), Callback.NOOP);
                    sessions++;
                }
            }
        }
        return sessions;
    }

    /** Ends settled connections until none is left, the deadline passes, or the thread is interrupted. */
    void closeSettled(long deadlineNanos, long pollMillis) {
        try {
            long drainedSince = 0;
            while (System.nanoTime() < deadlineNanos) {
                int open = 0;
                boolean quiet = requestsInFlight.getAsLong() == 0;
                if (quiet && drainedSince == 0) {
                    drainedSince = System.nanoTime();
                    LOG.info("shutdown: no request in flight; {} connections left to close", openConnections());
                } else if (!quiet) {
                    drainedSince = 0;
                }
                // The last responses may still be queued when the count drops: give them a moment to flush.
                boolean settled = quiet && System.nanoTime() - drainedSince >= QUIET_MS * 1_000_000;
                for (Connector connector : listeners) {
                    for (EndPoint endPoint : connector.getConnectedEndPoints()) {
                        open++;
                        closeIfSettled(endPoint, settled);
                    }
                }
                if (open == 0) {
                    return;
                }
                Thread.sleep(pollMillis);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    int openConnections() {
        int open = 0;
        for (Connector connector : listeners) {
            open += connector.getConnectedEndPoints().size();
        }
        return open;
    }

    private void closeIfSettled(EndPoint endPoint, boolean settled) {
        long idle = endPoint instanceof IdleTimeout t ? t.getIdleFor() : 0;
        Connection connection = applicationConnection(endPoint);
        if (connection instanceof HttpConnection http) {
            // Between requests only: a request being read (an upload) must not see its input end.
            if (settled && idle >= QUIET_MS && http.getParser().isStart() && http.isRequestBufferEmpty()) {
                if (told.add(endPoint)) {
                    shutdownInput(endPoint);
                } else if (idle >= GOAWAY_GRACE_MS) {
                    endPoint.close();
                }
            }
        } else if (connection instanceof HTTP2Connection h2) {
            HTTP2Session session = h2.getSession();
            if (idle >= GOAWAY_GRACE_MS && session.getStreamCount() == 0) {
                if (told.add(endPoint)) {
                    // Final GOAWAY, real last-stream-id: after this long, no stream of the client is on its way.
                    session.close(ErrorCode.NO_ERROR.code, "shutdown", Callback.NOOP);
                } else {
                    endPoint.close();
                }
            }
        }
    }

    private static void shutdownInput(EndPoint endPoint) {
        if (endPoint.getTransport() instanceof SocketChannel channel) {
            try {
                channel.shutdownInput();
                return;
            } catch (IOException e) {
                LOG.debug("shutdown: cannot shut the input of {}; closing it", endPoint, e);
            }
        }
        endPoint.close();
    }

    /** The HTTP connection behind an endpoint, through TLS. */
    private static Connection applicationConnection(EndPoint endPoint) {
        Connection connection = endPoint.getConnection();
        while (connection instanceof SslConnection tls) {
            connection = tls.getSslEndPoint().getConnection();
        }
        return connection;
    }
}
