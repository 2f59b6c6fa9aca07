package io.moosicbox.lb.proxy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.transport.HttpClientConnectionFactory;
import org.eclipse.jetty.client.transport.HttpExchange;
import org.eclipse.jetty.client.transport.internal.HttpChannelOverHTTP;
import org.eclipse.jetty.client.transport.internal.HttpConnectionOverHTTP;
import org.eclipse.jetty.client.transport.internal.HttpReceiverOverHTTP;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;

/**
 * Jetty's HTTP/1.1 connections to backends, with one addition: a connection that has to wait
 * for more of a response's body from its backend first asks the response's {@link BodyWait}
 * (a request attribute). Jetty's proxy sends a response's headers with its first body bytes, so a
 * backend that sends its headers and then thinks (a transcode starting, a long poll) showed the
 * client nothing until it sent a byte; HAProxy and nginx pass headers on as they come. A response
 * whose headers and body arrive in one read (nearly every small one) never gets here.
 */
public final class Http11BackendConnections extends ClientConnectionFactory.Info {
    private static final List<String> PROTOCOLS = List.of("http/1.1");

    /** What a response does before its backend connection waits for more of its body. */
    @FunctionalInterface
    public interface BodyWait {
        String ATTRIBUTE = BodyWait.class.getName();

        /**
         * @param resume makes the connection wait; to be run once, when whatever this started is done
         * @return whether this took {@code resume} over; when false the connection waits at once
         */
        boolean beforeWait(Runnable resume);

        /**
         * Whether the response is waiting for its client to take what was written last (or took it
         * within the timeout): the backend connection is not read meanwhile, so its silence is the
         * client's, whose own connection's idle timeout decides (a slow reader is not cut while it
         * reads, a paused one is).
         */
        default boolean heldByClient(long idleTimeoutMillis) {
            return false;
        }
    }

    public Http11BackendConnections() {
        super(new Factory());
    }

    @Override
    public List<String> getProtocols(boolean secure) {
        return PROTOCOLS;
    }

    @Override
    public String toString() {
        return "http/1.1 backend connections";
    }

    private static final class Factory extends HttpClientConnectionFactory {
        @Override
        public Connection newConnection(EndPoint endPoint, Map<String, Object> context) {
            // As HttpClientConnectionFactory.newConnection, with the connection below.
            HttpConnectionOverHTTP connection = new WaitingConnection(endPoint, context);
            connection.setInitialize(isInitializeConnections());
            connection.setTransferEncodingChunkMaxLength(getTransferEncodingChunkMaxLength());
            return customize(connection, context);
        }
    }

    private static final class WaitingConnection extends HttpConnectionOverHTTP {
        WaitingConnection(EndPoint endPoint, Map<String, Object> context) {
            super(endPoint, context);
        }

        @Override
        public boolean onIdleExpired(TimeoutException timeout) {
            HttpExchange exchange = getHttpChannel().getHttpExchange();
            if (exchange != null && exchange.getRequest().getAttributes().get(BodyWait.ATTRIBUTE) instanceof BodyWait wait
                    && wait.heldByClient(getEndPoint().getIdleTimeout())) {
                // Not read because the client has not taken the last write yet: not this connection's silence.
                return false;
            }
            return super.onIdleExpired(timeout);
        }

        @Override
        protected HttpChannelOverHTTP newHttpChannel() {
            return new HttpChannelOverHTTP(this) {
                @Override
                protected HttpReceiverOverHTTP newHttpReceiver() {
                    return new WaitingReceiver(this);
                }
            };
        }
    }

    private static final class WaitingReceiver extends HttpReceiverOverHTTP {
        private final Runnable waitForBody = super::fillInterested;

        WaitingReceiver(HttpChannelOverHTTP channel) {
            super(channel);
        }

        /** Jetty's receiver calls this when it read all there was and the response's body is not complete. */
        @Override
        protected void fillInterested() {
            HttpExchange exchange = getHttpExchange();
            if (exchange != null && exchange.getRequest().getAttributes().get(BodyWait.ATTRIBUTE) instanceof BodyWait wait
                    && wait.beforeWait(waitForBody)) {
                return;
            }
            super.fillInterested();
        }
    }
}
