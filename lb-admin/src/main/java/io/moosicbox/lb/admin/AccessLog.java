package io.moosicbox.lb.admin;

import io.moosicbox.lb.config.ConfigException;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.proxy.ExchangeListener;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per proxied request, written by a thread of its own: the request thread only puts the
 * finished {@link Exchange} on a bounded lock-free queue. When the writer cannot keep up (a full
 * disk, a blocked pipe) lines are dropped and counted rather than slowing requests down.
 */
final class AccessLog extends AbstractLifeCycle implements ExchangeListener {
    static final int CAPACITY = 16_384;
    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);

    private final LbConfig.AccessLogConfig config;
    private final AccessLogFormat format;
    private final Queue<Exchange> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final LongAdder dropped = new LongAdder();
    private volatile boolean running;
    private Thread writerThread;

    /** How the user set the target, for the error when it cannot be opened ({@code ACCESS_LOG="..."} or the file's key). */
    private final String setting;

    AccessLog(LbConfig.AccessLogConfig config, String setting) {
        this.config = config;
        this.setting = setting;
        this.format = "json".equals(config.format()) ? AccessLogFormat.JSON : AccessLogFormat.COMBINED;
    }

    void registerMetrics(PrometheusRegistry registry) {
        CounterWithCallback.builder()
                .name("moosicbox_lb_access_log_dropped")
                .help("Access log lines dropped because the writer could not keep up")
                .callback(cb -> cb.call(dropped.sum()))
                .register(registry);
    }

    /** A WebSocket session is logged once, when it ends, as nginx and HAProxy log one. */
    @Override
    public void onSessionOpen(Exchange handshake) {
        // Written by onSessionEnd.
    }

    @Override
    public void onSessionEnd(Exchange session) {
        onComplete(session);
    }

    @Override
    public void onComplete(Exchange exchange) {
        if (size.incrementAndGet() > CAPACITY) {
            size.decrementAndGet();
            dropped.increment();
            return;
        }
        queue.offer(exchange);
    }

    long dropped() {
        return dropped.sum();
    }

    @Override
    protected void doStart() throws Exception {
        Writer out = open();
        running = true;
        writerThread = Thread.ofPlatform().name("lb-access-log").daemon().start(() -> writeLoop(out));
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        if (writerThread == null) {
            // The file could not be opened: the start failed, and its reason is what the user must see.
            return;
        }
        LockSupport.unpark(writerThread);
        writerThread.join(TimeUnit.SECONDS.toMillis(5));
    }

    /** @throws ConfigException when the file cannot be opened: the user's setting, so a configuration error (exit 2) */
    private Writer open() throws ConfigException {
        if (LbConfig.AccessLogConfig.STDOUT.equals(config.target())) {
            return new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 64 * 1024);
        }
        try {
            // Appending: log rotation by copy-and-truncate (logrotate's copytruncate) keeps working.
            return Files.newBufferedWriter(Path.of(config.target()), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        } catch (IOException e) {
            // The reason, not the exception: "java.nio.file.NoSuchFileException: /var/log/lb/a.log" named no folder.
            throw new ConfigException(List.of(setting + ": cannot open it for appending: "
                    + io.moosicbox.lb.config.FileErrors.describe(Path.of(config.target()), e)));
        } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException(List.of(setting + ": cannot open it for appending: " + e.getMessage()));
        }
    }

    private void writeLoop(Writer out) {
        StringBuilder line = new StringBuilder(512);
        boolean failing = false;
        while (true) {
            Exchange e = queue.poll();
            if (e == null) {
                try {
                    out.flush();
                    failing = false;
                } catch (IOException ex) {
                    failing = reportOnce(failing, ex);
                }
                if (!running && queue.isEmpty()) {
                    break;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                continue;
            }
            size.decrementAndGet();
            line.setLength(0);
            format.append(line, e);
            line.append('\n');
            try {
                out.append(line);
            } catch (IOException ex) {
                dropped.increment();
                failing = reportOnce(failing, ex);
            }
        }
        try {
            if (LbConfig.AccessLogConfig.STDOUT.equals(config.target())) {
                out.flush();
            } else {
                out.close();
            }
        } catch (IOException ex) {
            LOG.warn("access log {}: {}", config.target(), ex.toString());
        }
    }

    private boolean reportOnce(boolean failing, IOException ex) {
        if (!failing) {
            LOG.warn("access log {} cannot be written: {}; lines are dropped until it can", config.target(), ex.toString());
        }
        return true;
    }
}
