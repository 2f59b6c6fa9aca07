package io.moosicbox.lb.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads when the configuration file's content changes. It polls the content rather than
 * watching the directory: a Kubernetes ConfigMap is updated by swapping a symbolic link, which
 * directory events report in ways that differ between systems. A change is applied once two
 * polls in a row read the same new content, so that a file caught half-written by an editor is
 * not tried.
 */
public final class ConfigWatcher implements AutoCloseable {
    /**
     * Not static: the launcher calls {@link #snapshot} before it knows the log level, and a logger
     * made then would start the logging with its defaults, for good (jetty-slf4j-impl reads its
     * levels once).
     */
    private final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);

    private final Path file;
    private final Runnable reload;
    private final ScheduledExecutorService timer;
    private byte[] applied;
    private byte[] seen;

    /**
     * @param baseline the file's content as it was before the running configuration was read from
     *                 it ({@link #snapshot}); a change made while the process started is then seen
     *                 as a change, at worst costing one reload of what is already running
     * @param reload   called on the watcher's thread when the file changed and settled; it logs the
     *                 reload and its outcome ({@link LoadBalancer#reload(String)}), so the watcher does not
     */
    public ConfigWatcher(Path file, byte[] baseline, Duration interval, Runnable reload) {
        this.file = file;
        this.reload = reload;
        this.applied = baseline;
        this.seen = applied;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("lb-config-watch").unstarted(r));
        timer.scheduleWithFixedDelay(this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void poll() {
        try {
            byte[] now = read();
            if (now != null && !Arrays.equals(now, applied) && Arrays.equals(now, seen)) {
                applied = now;
                reload.run();
            }
            seen = now;
        } catch (RuntimeException e) {
            log.warn("watching {} failed", file, e);
        }
    }

    private byte[] read() {
        return snapshot(file);
    }

    /** The file's content now, or null if it cannot be read (missing for a moment while it is replaced). */
    public static byte[] snapshot(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
