import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load of bench/scale.sh, one virtual thread per connection (run as a single source file:
 * {@code java bench/ScaleClient.java ...}; needs Java 21+, nothing else).
 *
 * <p>Opens IDLE keep-alive HTTP/1.1 connections that each send one request, read the whole answer
 * and then stay open; and SLOW connections that each download a large body at RATE bytes per second
 * through a small receive buffer, so that back-pressure reaches the balancer. Prints {@code READY}
 * once all are open, holds them HOLD seconds while the slow ones keep reading, then sends a second
 * request on every idle connection (proof that it was really kept open; 32 at a time, or all at
 * once with {@code burst}) and prints the outcome. Exits 1 if any connection failed.
 *
 * <pre>java ScaleClient.java HOST PORT IDLE SLOW SMALL_PATH BIG_PATH RATE HOLD [burst]</pre>
 */
public final class ScaleClient {
    private static final int CONNECT_CONCURRENCY = 32;
    private static final int SLOW_RECEIVE_BUFFER = 16 * 1024;
    private static final int TIMEOUT_MS = 20_000;

    private final String host;
    private final int port;
    private final Semaphore connecting = new Semaphore(CONNECT_CONCURRENCY);
    private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    private final AtomicLong slowBytes = new AtomicLong();
    private volatile boolean holding = true;

    private ScaleClient(String host, int port) {
        this.host = host;
        this.port = port;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 8 || args.length > 9) {
            System.err.println("usage: java ScaleClient.java HOST PORT IDLE SLOW SMALL_PATH BIG_PATH RATE HOLD [burst]");
            System.exit(2);
        }
        ScaleClient client = new ScaleClient(args[0], Integer.parseInt(args[1]));
        int idle = Integer.parseInt(args[2]);
        int slow = Integer.parseInt(args[3]);
        int rate = Integer.parseInt(args[6]);
        int holdSeconds = Integer.parseInt(args[7]);
        boolean burst = args.length == 9 && args[8].equals("burst");
        System.exit(client.run(idle, slow, args[4], args[5], rate, holdSeconds, burst) ? 0 : 1);
    }

    private boolean run(int idle, int slow, String smallPath, String bigPath, int rate, int holdSeconds, boolean burst)
            throws Exception {
        long start = System.nanoTime();
        Socket[] idleSockets = new Socket[idle];
        CountDownLatch slowStarted = new CountDownLatch(slow);
        AtomicInteger slowReading = new AtomicInteger();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            // Slow streams first: they are the ones that must stay open for the whole hold.
            for (int i = 0; i < slow; i++) {
                threads.submit(() -> slowStream(bigPath, rate, slowStarted, slowReading));
            }
            if (!slowStarted.await(120, TimeUnit.SECONDS)) {
                errors.add("slow streams did not all start within 120 s");
            }
            log("slow streams reading: %d of %d (%d ms)", slowReading.get(), slow, ms(start));

            CountDownLatch idleOpen = new CountDownLatch(idle);
            for (int i = 0; i < idle; i++) {
                int n = i;
                threads.submit(() -> {
                    try {
                        idleSockets[n] = firstRequest(smallPath);
                    } catch (IOException | RuntimeException e) {
                        errors.add("idle connection " + n + ": " + e);
                    } finally {
                        idleOpen.countDown();
                    }
                });
            }
            if (!idleOpen.await(180, TimeUnit.SECONDS)) {
                errors.add("idle connections were not all open within 180 s");
            }
            int open = 0;
            for (Socket s : idleSockets) {
                open += s == null ? 0 : 1;
            }
            log("READY idle=%d slow=%d errors=%d (%d ms)", open, slowReading.get(), errors.size(), ms(start));

            long bytesBefore = slowBytes.get();
            Thread.sleep(holdSeconds * 1000L);
            long heldBytes = slowBytes.get() - bytesBefore;
            log("held %d s: slow streams still reading: %d, read %.1f MB during the hold (%.0f KB/s per stream)",
                    holdSeconds, slowReading.get(), heldBytes / 1e6, heldBytes / 1e3 / holdSeconds / Math.max(1, slow));
            if (slowReading.get() != slow) {
                errors.add((slow - slowReading.get()) + " slow streams ended early");
            }
            holding = false;

            // A second request on each idle connection: it must still be open and answer.
            AtomicInteger reused = new AtomicInteger();
            List<? extends java.util.concurrent.Future<?>> checks = java.util.stream.IntStream.range(0, idle)
                    .filter(i -> idleSockets[i] != null)
                    .mapToObj(i -> threads.submit(() -> {
                        // As many at once as while connecting, unless a burst is asked for: all at the same instant.
                        if (!burst) {
                            connecting.acquireUninterruptibly();
                        }
                        try (Socket s = idleSockets[i]) {
                            exchange(s, smallPath, true);
                            reused.incrementAndGet();
                        } catch (IOException | RuntimeException e) {
                            errors.add("idle connection " + i + " on its second request: " + e);
                        } finally {
                            if (!burst) {
                                connecting.release();
                            }
                        }
                    }))
                    .toList();
            for (var check : checks) {
                check.get();
            }
            log("idle connections still open and answering after the hold: %d of %d", reused.get(), idle);
            threads.shutdownNow();
        }
        // One line per kind of error (connection numbers left out), most frequent first.
        errors.stream()
                .collect(java.util.stream.Collectors.groupingBy(e -> e.replaceAll("connection \\d+", "connection N"),
                        java.util.stream.Collectors.counting()))
                .entrySet().stream()
                .sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(10)
                .forEach(e -> System.out.println("error: " + e.getValue() + " x " + e.getKey()));
        log("DONE errors=%d", errors.size());
        return errors.isEmpty();
    }

    private Socket firstRequest(String path) throws IOException {
        Socket s = connect(0);
        try {
            exchange(s, path, false);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void slowStream(String path, int rate, CountDownLatch started, AtomicInteger reading) {
        boolean counted = false;
        try (Socket s = connect(SLOW_RECEIVE_BUFFER)) {
            send(s, path, false);
            InputStream in = new BufferedInputStream(s.getInputStream(), 4096);
            readHead(in);
            reading.incrementAndGet();
            counted = true;
            started.countDown();
            byte[] chunk = new byte[Math.max(1, rate / 10)];
            // Read one tenth of a second's worth, ten times a second, for as long as the hold lasts.
            while (holding) {
                int n = in.readNBytes(chunk, 0, chunk.length);
                if (n < chunk.length) {
                    throw new IOException("body ended after less than expected (make BIG_PATH larger)");
                }
                slowBytes.addAndGet(n);
                Thread.sleep(100);
            }
        } catch (IOException | RuntimeException | InterruptedException e) {
            if (holding) {
                errors.add("slow stream: " + e);
            }
        } finally {
            if (counted) {
                reading.decrementAndGet();
            } else {
                started.countDown();
            }
        }
    }

    private Socket connect(int receiveBuffer) throws IOException {
        connecting.acquireUninterruptibly();
        try {
            Socket s = new Socket();
            if (receiveBuffer > 0) {
                s.setReceiveBufferSize(receiveBuffer);
            }
            s.setSoTimeout(TIMEOUT_MS);
            s.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
            return s;
        } finally {
            connecting.release();
        }
    }

    private void send(Socket s, String path, boolean close) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** One request and its whole answer (a Content-Length body), leaving the connection open. */
    private void exchange(Socket s, String path, boolean close) throws IOException {
        send(s, path, close);
        // Nothing follows the answer, so a buffer per exchange never reads past it.
        InputStream in = new BufferedInputStream(s.getInputStream());
        long length = readHead(in);
        if (length < 0) {
            throw new IOException("answer without Content-Length");
        }
        in.skipNBytes(length);
    }

    /** Reads the status line and headers; returns Content-Length or -1. Anything but 200 is an error. */
    private static long readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            head.append((char) c);
            if (head.length() >= 4 && head.lastIndexOf("\r\n\r\n") == head.length() - 4) {
                break;
            }
            if (head.length() > 16_384) {
                throw new IOException("response head over 16 KiB");
            }
        }
        if (c < 0) {
            throw new IOException("connection closed before a response" + (head.isEmpty() ? "" : ": " + head));
        }
        String[] lines = head.toString().split("\r\n");
        if (!lines[0].startsWith("HTTP/1.1 200")) {
            throw new IOException("answered " + lines[0]);
        }
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                return Long.parseLong(line.substring(colon + 1).trim());
            }
        }
        return -1;
    }

    private static long ms(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    private static void log(String format, Object... args) {
        System.out.println(String.format(format, args));
        System.out.flush();
    }
}
