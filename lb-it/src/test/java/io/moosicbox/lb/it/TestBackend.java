package io.moosicbox.lb.it;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

/**
 * A real HTTP backend on loopback for the black-box tests.
 * {@code /} answers its name; {@code /headers} echoes the request headers as JSON;
 * {@code /bytes?n=N} streams N deterministic bytes; {@code /upload} counts the body it read;
 * {@code /slow?ms=N} answers after N milliseconds.
 */
final class TestBackend implements AutoCloseable {
    private final String name;
    private final Server server;
    private final ServerConnector connector;
    /** Requests to /slow being answered now: tests wait for them to arrive instead of sleeping. */
    final java.util.concurrent.atomic.AtomicInteger slowInProgress = new java.util.concurrent.atomic.AtomicInteger();
    /** Requests to /slow that arrived, ever: a test waits for its own to arrive. */
    final java.util.concurrent.atomic.AtomicInteger slowRequests = new java.util.concurrent.atomic.AtomicInteger();
    /** Every request that reached this backend. */
    final java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
    /** The {@code id} query parameter of every request that reached this backend. */
    final java.util.Set<String> seenIds = java.util.concurrent.ConcurrentHashMap.newKeySet();

    TestBackend(String name) throws Exception {
        this.name = name;
        server = new Server();
        connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                return serve(request, response, callback);
            }
        });
        server.start();
    }

    String name() {
        return name;
    }

    int port() {
        return connector.getLocalPort();
    }

    String url() {
        return "http://127.0.0.1:" + port();
    }

    private boolean serve(Request request, Response response, Callback callback) throws Exception {
        requests.incrementAndGet();
        String path = Request.getPathInContext(request);
        String id = Request.extractQueryParameters(request).getValue("id");
        if (id != null) {
            seenIds.add(id);
        }
        response.getHeaders().put("X-Backend", name);
        switch (path) {
            case "/headers" -> {
                Map<String, String> headers = new TreeMap<>();
                for (HttpField f : request.getHeaders()) {
                    headers.merge(f.getName(), f.getValue(), (a, b) -> a + ", " + b);
                }
                headers.put(":backend", name);
                String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(headers);
                response.getHeaders().put("Content-Type", "application/json");
                Content.Sink.write(response, true, json, callback);
            }
            case "/bytes" -> {
                long n = Long.parseLong(Request.extractQueryParameters(request).getValue("n"));
                response.getHeaders().put("Content-Type", "application/octet-stream");
                response.getHeaders().put("Content-Length", Long.toString(n));
                writeBytes(response, n);
                callback.succeeded();
            }
            case "/slow" -> {
                long ms = Long.parseLong(Request.extractQueryParameters(request).getValue("ms"));
                slowInProgress.incrementAndGet();
                slowRequests.incrementAndGet();
                try {
                    Thread.sleep(ms);
                } finally {
                    slowInProgress.decrementAndGet();
                }
                Content.Sink.write(response, true, name + " after " + ms + " ms\n", callback);
            }
            case "/upload" -> {
                long total = 0;
                try (var in = Content.Source.asInputStream(request)) {
                    byte[] buf = new byte[65536];
                    for (int r; (r = in.read(buf)) >= 0; ) {
                        total += r;
                    }
                }
                Content.Sink.write(response, true, Long.toString(total), callback);
            }
            default -> Content.Sink.write(response, true, name + "\n", callback);
        }
        return true;
    }

    /** The byte at offset i of every generated body; clients check against the same function. */
    static byte byteAt(long i) {
        return (byte) (i * 31 + (i >>> 8));
    }

    private static void writeBytes(Response response, long n) throws Exception {
        byte[] chunk = new byte[65536];
        try (var out = Content.Sink.asOutputStream(response)) {
            long off = 0;
            while (off < n) {
                int len = (int) Math.min(chunk.length, n - off);
                for (int i = 0; i < len; i++) {
                    chunk[i] = byteAt(off + i);
                }
                out.write(chunk, 0, len);
                off += len;
            }
        }
    }

    void stop() throws Exception {
        server.stop();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    static String utf8(ByteBuffer b) {
        return StandardCharsets.UTF_8.decode(b).toString();
    }
}
