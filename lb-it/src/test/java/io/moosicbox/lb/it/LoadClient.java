package io.moosicbox.lb.it;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.RetryableRequestException;

/**
 * Keep-alive clients sending continuously, bounded in time, that tell apart requests the
 * balancer accepted and failed (what must never happen) from connections it refused (what a
 * closed listener does).
 */
final class LoadClient implements AutoCloseable {
    private static final int MAX_RETRIES = 2;
    final LongAdder sent = new LongAdder();
    final LongAdder completed = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder failed = new LongAdder();
    /** Sent on a keep-alive connection just as the server closed it, never read, sent again (RFC 9110 9.2.2). */
    final LongAdder retried = new LongAdder();
    /** The ids of the requests that were retried: none of them may have reached a backend. */
    final java.util.Map<String, String> retriedIds = new java.util.concurrent.ConcurrentHashMap<>();
    final Queue<String> failures = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();

    /** @param paths cycled through by each client */
    LoadClient(HttpClient client, String baseUrl, int concurrency, long maxMillis, String... paths) {
        this(t -> client, baseUrl, concurrency, maxMillis, paths);
    }

    /** @param clients the client that sender {@code t} (0 to concurrency - 1) uses */
    LoadClient(java.util.function.IntFunction<HttpClient> clients, String baseUrl, int concurrency, long maxMillis, String... paths) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxMillis);
        for (int t = 0; t < concurrency; t++) {
            int offset = t;
            HttpClient client = clients.apply(t);
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = offset; running.get() && System.nanoTime() < deadline; i++) {
                    sent.increment();
                    try {
                        String path = paths[i % paths.length];
                        String url = baseUrl + path + (path.contains("?") ? "&" : "?") + "id=" + offset + "-" + i;
                        ContentResponse r = sendRetryingUnread(client, url);
                        if (r.getStatus() == 200) {
                            completed.increment();
                        } else {
                            failed.increment();
                            failures.add("status " + r.getStatus() + ": " + r.getContentAsString());
                        }
                    } catch (ExecutionException e) {
                        if (isRefused(e)) {
                            refused.increment();
                            sleepQuietly();
                        } else {
                            failed.increment();
                            failures.add(e.getCause().toString());
                        }
                    } catch (Exception e) {
                        failed.increment();
                        failures.add(e.toString());
                    }
                }
            }));
        }
    }

    /**
     * What browsers and curl do for an idempotent request: when a connection closes or is reset before
     * any response byte (the server never read the request, or HTTP/2 refused the stream), send it
     * again, here up to twice, after a short pause (an HTTP/2 client can pick the same closing
     * session again at once). Each retry carries a new id; the test checks that the ids retried
     * never reached a backend, so a request the balancer accepted and then lost cannot pass for an
     * unread one.
     */
    private ContentResponse sendRetryingUnread(HttpClient client, String url) throws Exception {
        for (int attempt = 0; ; attempt++) {
            String attemptUrl = attempt == 0 ? url : url + "-retry" + attempt;
            try {
                return client.newRequest(attemptUrl).timeout(30, TimeUnit.SECONDS).send();
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                // "session closed": the client picked a pooled HTTP/2 session that had just closed; nothing was sent.
                boolean neverSent = cause instanceof IllegalStateException && "session closed".equals(cause.getMessage());
                // A reset with no byte of an answer: e.g. a connection still in the kernel's accept queue when the listener closed.
                boolean reset = cause instanceof java.net.SocketException && String.valueOf(cause.getMessage()).contains("Connection reset");
                if (attempt == MAX_RETRIES || !(cause instanceof java.io.EOFException) && !(cause instanceof RetryableRequestException)
                        && !(cause instanceof java.nio.channels.ClosedChannelException) && !neverSent && !reset) {
                    throw e;
                }
                retried.increment();
                java.io.StringWriter trace = new java.io.StringWriter();
                cause.printStackTrace(new java.io.PrintWriter(trace));
                retriedIds.put(attemptUrl.substring(attemptUrl.lastIndexOf("id=") + 3), trace.toString());
                sleepQuietly();
            }
        }
    }

    private static boolean isRefused(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ConnectException) {
                return true;
            }
        }
        return false;
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void awaitCompleted(long count, long maxMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxMillis);
        while (completed.sum() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    String summary() {
        return "sent=" + sent.sum() + " completed=" + completed.sum() + " refused=" + refused.sum()
                + " failed=" + failed.sum() + " retried-unread=" + retried.sum() + (failures.isEmpty() ? "" : " first failures: " + failures.stream().limit(5).toList());
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(40));
        }
    }
}
