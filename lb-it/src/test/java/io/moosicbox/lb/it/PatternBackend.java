package io.moosicbox.lb.it;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * A backend for the streaming tests: {@code GET /bytes/SIZE} serves {@link BytePattern} content
 * with Range and If-Range support (ETag {@code "p1"}); {@code POST /upload} checks an uploaded
 * pattern and answers {@code ok SIZE}; {@code POST /upload-reject} answers 401 without reading;
 * {@code /ws} is a WebSocket echo that picks the subprotocol {@code moosicbox.v2} when offered.
 */
final class PatternBackend implements AutoCloseable {
    static final String ETAG = "\"p1\"";
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

    final Server server = new Server();
    final ServerConnector connector = new ServerConnector(server);
    /** Close frames the WebSocket echo received, as "CODE REASON". */
    final BlockingQueue<String> closes = new LinkedBlockingQueue<>();
    /** Bytes of {@code /bytes/} bodies written so far, all requests together. */
    final AtomicLong served = new AtomicLong();

    PatternBackend() throws Exception {
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, container -> {
            container.setMaxBinaryMessageSize(16L << 20);
            container.addMapping("/ws", (request, response, callback) -> {
                if (request.getSubProtocols().contains("moosicbox.v2")) {
                    response.setAcceptedSubProtocol("moosicbox.v2");
                }
                return new Echo(closes);
            });
        });
        ws.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                String path = Request.getPathInContext(request);
                try {
                    if (path.startsWith("/bytes/")) {
                        serve(request, response, Long.parseLong(path.substring(7)));
                    } else if (path.equals("/upload")) {
                        upload(request, response);
                    } else if (path.equals("/upload-reject")) {
                        response.setStatus(401);
                        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0);
                        response.write(true, null, callback);
                        return true;
                    } else {
                        return false;
                    }
                    callback.succeeded();
                } catch (Throwable x) {
                    callback.failed(x);
                }
                return true;
            }
        });
        server.setHandler(ws);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + connector.getLocalPort();
    }

    private void serve(Request request, Response response, long size) throws Exception {
        long start = 0;
        long end = size - 1;
        int status = 200;
        String range = request.getHeaders().get(HttpHeader.RANGE);
        String ifRange = request.getHeaders().get(HttpHeader.IF_RANGE);
        Matcher m = range == null ? null : RANGE.matcher(range);
        if (m != null && m.matches() && (ifRange == null || ifRange.equals(ETAG))) {
            if (m.group(1).isEmpty()) {
                start = size - Long.parseLong(m.group(2));
            } else {
                start = Long.parseLong(m.group(1));
                end = m.group(2).isEmpty() ? size - 1 : Math.min(Long.parseLong(m.group(2)), size - 1);
            }
            status = 206;
            response.getHeaders().put(HttpHeader.CONTENT_RANGE, "bytes " + start + "-" + end + "/" + size);
        }
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.ETAG, ETAG);
        response.getHeaders().put(HttpHeader.ACCEPT_RANGES, "bytes");
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/octet-stream");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, end - start + 1);
        if ("HEAD".equals(request.getMethod())) {
            // Jetty would drop a HEAD body, but only after this wrote all of it.
            return;
        }
        byte[] buffer = new byte[64 * 1024];
        try (OutputStream out = Content.Sink.asOutputStream(response)) {
            for (long pos = start; pos <= end; ) {
                int n = (int) Math.min(buffer.length, end - pos + 1);
                BytePattern.fill(buffer, pos, n);
                out.write(buffer, 0, n);
                served.addAndGet(n);
                pos += n;
            }
        }
    }

    private static void upload(Request request, Response response) throws Exception {
        long count = 0;
        long mismatch = -1;
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = Content.Source.asInputStream(request)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                if (mismatch < 0) {
                    mismatch = BytePattern.firstMismatch(buffer, count, n);
                }
                count += n;
            }
        }
        String body = mismatch < 0 ? "ok " + count : "mismatch at " + mismatch;
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
        try (OutputStream out = Content.Sink.asOutputStream(response)) {
            out.write(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    /** Echoes every message; records the close frame it gets. */
    public static final class Echo implements Session.Listener.AutoDemanding {
        private final BlockingQueue<String> closes;
        private volatile Session session;

        Echo(BlockingQueue<String> closes) {
            this.closes = closes;
        }

        @Override
        public void onWebSocketOpen(Session s) {
            session = s;
        }

        @Override
        public void onWebSocketText(String message) {
            session.sendText(message, org.eclipse.jetty.websocket.api.Callback.NOOP);
        }

        @Override
        public void onWebSocketBinary(ByteBuffer payload, org.eclipse.jetty.websocket.api.Callback callback) {
            session.sendBinary(payload, callback);
        }

        @Override
        public void onWebSocketClose(int code, String reason) {
            closes.add(code + " " + reason);
        }
    }
}
