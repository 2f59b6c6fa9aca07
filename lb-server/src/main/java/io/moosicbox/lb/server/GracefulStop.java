package io.moosicbox.lb.server;

import io.moosicbox.lb.config.LbConfig;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.component.Graceful;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shutdown sequence, logged phase by phase with counts: delay (listeners still open, /ready
 * already 503), drain (listeners closed, accepted requests finish, {@link DrainingConnections}
 * ends the connections left open), stop (whatever is left at the timeout is cut).
 */
final class GracefulStop {
    private static final Logger LOG = LoggerFactory.getLogger(GracefulStop.class);
    private static final long POLL_MS = 20;

    private final Server server;
    private final GracefulHandler graceful;
    private final LbConfig.ShutdownConfig settings;
    private final List<Runnable> onDrainStart;
    private final DrainingConnections connections;

    GracefulStop(Server server, GracefulHandler graceful, LbConfig.ShutdownConfig settings, List<Runnable> onDrainStart) {
        this.server = server;
        this.graceful = graceful;
        this.settings = settings;
        this.onDrainStart = onDrainStart;
        this.connections = new DrainingConnections(server, graceful::getCurrentRequestCount);
    }

    /** @return true when every accepted request finished and every connection closed in time */
    boolean run() throws Exception {
        long begun = System.nanoTime();
        long delay = settings.delay().toMillis();
        if (delay > 0) {
            LOG.info("shutdown phase 1/3 (delay): /ready answers 503, listeners stay open {} ms; {} requests in flight, {} connections open",
                    delay, graceful.getCurrentRequestCount(), openConnections());
            Thread.sleep(delay);
        }
        long timeout = settings.timeout().toMillis();
        long drainBegun = System.nanoTime();
        // Before the GOAWAYs, so that no session opens after them; Graceful.shutdown below repeats it harmlessly.
        for (Connector connector : server.getConnectors()) {
            connector.shutdown();
        }
        LOG.info("shutdown phase 2/3 (drain): listeners closed; {} requests in flight, {} connections open; waiting up to {} ms",
                graceful.getCurrentRequestCount(), openConnections(), timeout);
        for (Runnable action : onDrainStart) {
            try {
                action.run();
            } catch (RuntimeException e) {
                LOG.warn("shutdown: a drain-start action failed; draining anyway", e);
            }
        }
        int sessions = connections.goAway();
        if (sessions > 0) {
            LOG.info("shutdown: GOAWAY sent to {} HTTP/2 sessions; their streams in flight finish", sessions);
        }
        Thread closer = Thread.ofVirtual().name("lb-drain-closer")
                .start(() -> connections.closeSettled(drainBegun + timeout * 1_000_000, POLL_MS));
        boolean drained = false;
        try {
            // Completes once no request is counted and every connector has no connection left.
            Graceful.shutdown(server).get(timeout, TimeUnit.MILLISECONDS);
            drained = true;
            LOG.info("shutdown phase 3/3 (stop): drained in {} ms, nothing cut", millisSince(drainBegun));
        } catch (TimeoutException e) {
            LOG.warn("shutdown phase 3/3 (stop): timeout of {} ms reached; cutting {} requests in flight and {} connections",
                    timeout, graceful.getCurrentRequestCount(), openConnections());
        } finally {
            closer.interrupt();
            // The drain has had its time: Server.stop() must not run a second graceful phase of its own.
            server.setStopTimeout(0);
            server.stop();
        }
        LOG.info("shutdown complete after {} ms", millisSince(begun));
        return drained;
    }

    private int openConnections() {
        return connections.openConnections();
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }
}
