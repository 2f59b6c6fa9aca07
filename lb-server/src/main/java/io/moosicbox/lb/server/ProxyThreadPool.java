package io.moosicbox.lb.server;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's thread pool, with one shortcut for HTTP/1.1 keep-alive.
 *
 * <p>When a response completes on another thread than the one that read its request (always, for
 * a proxied response: it completes on the backend client's thread), Jetty 12.1's
 * {@code HttpConnection} resumes reading the client's next request by handing the connection to
 * this pool. In a proxy the next request has almost never arrived yet: the client is still
 * reading the response. The hand-off then costs a thread wake-up, a read that finds nothing and a
 * fill-interest registration: {@code perf stat} counted 1.6 futex calls per request under
 * {@code wrk}, which this shortcut brings to 0.03, and the CPU per request fell from 107 to
 * 87-90 us (docs/benchmarks.md). When the connection holds no unread bytes this pool registers
 * the fill interest at once, as {@code HttpConnection.onOpen} does for a new connection; the
 * selector then reads the request when it comes and, the proxy being non-blocking, handles it on
 * the selector thread. A connection that still holds its input buffer runs as before: it may
 * hold pipelined bytes, and Jetty's own read releases the buffer to the pool when it finds nothing
 * (after a request with a body), which an idle keep-alive connection should not keep.
 */
final class ProxyThreadPool extends QueuedThreadPool {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyThreadPool.class);
    /** HttpConnection's input buffer, null between requests without a body; null here if Jetty renames it. */
    private static final VarHandle REQUEST_BUFFER = requestBuffer();

    @Override
    public void execute(Runnable job) {
        if (job instanceof HttpConnection connection && awaitsNextRequest(connection)) {
            connection.fillInterested(new NextRequest(connection));
            return;
        }
        super.execute(job);
    }

    private static boolean awaitsNextRequest(HttpConnection connection) {
        return REQUEST_BUFFER != null && REQUEST_BUFFER.get(connection) == null && connection.getEndPoint().isOpen()
                && !connection.isFillInterested() && connection.getEndPoint().getConnection() == connection;
    }

    private static VarHandle requestBuffer() {
        try {
            return MethodHandles.privateLookupIn(HttpConnection.class, MethodHandles.lookup())
                    .findVarHandle(HttpConnection.class, "_requestBuffer", RetainableByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.debug("HTTP/1.1 keep-alive resumes through the pool: {}", e.toString());
            return null;
        }
    }

    /**
     * Reads the next request with the connection's own invocation type: the callback of
     * {@code AbstractConnection.fillInterested()} declares itself blocking, which would send every
     * request to another thread.
     */
    private record NextRequest(HttpConnection connection) implements Callback {
        @Override
        public void succeeded() {
            connection.onFillable();
        }

        @Override
        public void failed(Throwable failure) {
            connection.onFillInterestedFailed(failure);
        }

        @Override
        public InvocationType getInvocationType() {
            return connection.getServer().getInvocationType();
        }
    }
}
