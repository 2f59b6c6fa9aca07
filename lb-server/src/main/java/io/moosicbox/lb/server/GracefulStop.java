package io.moosicbox.lb.server;

import io.moosicbox.lb.config.LbConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.component.Graceful;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shutdown sequence, logged phase by phase with counts: delay (listeners still open, /ready
 * already 503), drain (listeners closed, accepted requests finish, {@link DrainingConnections}
 * ends the connections left open), stop (whatever is left at the timeout is cut). The admin
 * listener serves until the stop: /health, /metrics and the API show the drain as it happens.
 */
final class GracefulStop {
    private static final Logger LOG = LoggerFactory.getLogger(GracefulStop.class);
    private static final long POLL_MS = 20;

    private final Server server;
    private final GracefulHandler graceful;
    private final LbConfig.ShutdownConfig settings;
    private final List<Runnable> onDrainStart;
    private final DrainingConnections connections;
    private final List<Connector> listeners;
    private final List<Graceful> draining;

    /** @param adminConnector and {@code admin}, its context: left out of the drain, they serve until the stop */
    GracefulStop(Server server, GracefulHandler graceful, LbConfig.ShutdownConfig settings, List<Runnable> onDrainStart,
                 Connector adminConnector, ContextHandler admin) {
        this.server = server;
        this.graceful = graceful;
        this.settings = settings;
        this.onDrainStart = onDrainStart;
        this.listeners = Arrays.stream(server.getConnectors()).filter(c -> c != adminConnector).toList();
        this.connections = new DrainingConnections(listeners, graceful::getCurrentRequestCount);
        // What Graceful.shutdown(server) would shut, in its order, but for the admin listener and context.
        Set<Object> keep = Collections.newSetFromMap(new IdentityHashMap<>());
        keep.add(adminConnector);
        keep.add(admin);
        keep.addAll(admin.getContainedBeans(Graceful.class));
        List<Graceful> all = new ArrayList<>(server.getContainedBeans(Graceful.class));
        Collections.reverse(all);
        this.draining = all.stream().filter(g -> !keep.contains(g)).toList();
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
        for (Connector connector : listeners) {
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
            // Completes once no request is counted and every proxy listener has no connection left.
            CompletableFuture.allOf(draining.stream().map(Graceful::shutdown).toArray(CompletableFuture[]::new))
                    .get(timeout, TimeUnit.MILLISECONDS);
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
