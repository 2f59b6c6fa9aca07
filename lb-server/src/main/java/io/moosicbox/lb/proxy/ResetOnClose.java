package io.moosicbox.lb.proxy;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.NetworkChannel;
import org.eclipse.jetty.io.EndPoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a client connection's close a TCP reset instead of an orderly end. A response cut in the
 * middle must not look complete, and to an HTTP/1.0 client the orderly end of a response without
 * a length is exactly where its body ends: a transcode cut by a backend crash or a shutdown was
 * saved as a whole file. A reset is an error to every client. Only for connections being cut:
 * a reset drops what the kernel has not sent yet.
 */
public final class ResetOnClose {
    private static final Logger LOG = LoggerFactory.getLogger(ResetOnClose.class);

    private ResetOnClose() {}

    /** @param endPoint the connection's endpoint, or one that wraps it (TLS) */
    public static void arm(EndPoint endPoint) {
        EndPoint network = endPoint;
        while (network instanceof EndPoint.Wrapper wrapper && wrapper.unwrap() instanceof EndPoint inner && inner != network) {
            network = inner;
        }
        if (network.getTransport() instanceof NetworkChannel channel) {
            try {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            } catch (IOException | UnsupportedOperationException e) {
                LOG.debug("cannot make the close of {} a reset", endPoint, e);
            }
        }
    }
}
