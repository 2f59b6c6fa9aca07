package io.moosicbox.lb.proxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Jetty's connector for the connections to backends, whose sockets report a reset as an error.
 * Jetty's own endpoint reads a failed read as the end of input: a backend that reset its
 * connection in the middle of a body that ends at the close (no length, no chunks) had that body
 * passed on as complete. With the error, the exchange fails, and the client sees a cut.
 */
final class BackendConnector extends ClientConnector {
    @Override
    protected EndPoint newEndPoint(SelectableChannel channel, ManagedSelector selector, SelectionKey key) {
        if (channel instanceof SocketChannel socket) {
            return new ResetReportingEndPoint(socket, selector, key, this);
        }
        return super.newEndPoint(channel, selector, key);
    }

    private static final class ResetReportingEndPoint extends SocketChannelEndPoint {
        ResetReportingEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, ClientConnector connector) {
            super(channel, selector, key, connector.getScheduler());
        }

        /** As SocketChannelEndPoint.fill, but a failed read throws instead of reading as the end of input. */
        @Override
        public int fill(ByteBuffer buffer) throws IOException {
            if (isInputShutdown()) {
                return -1;
            }
            int position = BufferUtil.flipToFill(buffer);
            try {
                int filled = getChannel().read(buffer);
                if (filled > 0) {
                    notIdle();
                } else if (filled == -1) {
                    shutdownInput();
                }
                return filled;
            } catch (IOException e) {
                shutdownInput();
                throw e;
            } finally {
                BufferUtil.flipToFlush(buffer, position);
            }
        }
    }
}
