package io.moosicbox.lb.websocket;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServlet;
import org.eclipse.jetty.ee10.websocket.server.JettyWebSocketServletFactory;
import org.eclipse.jetty.ee10.websocket.server.config.JettyWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * A real Jetty WebSocket server for the tests: echoes text and binary messages and obeys a few
 * text commands ({@code close CODE REASON}, {@code die}, {@code headers}, {@code flood MIB}).
 * {@code /denied} refuses the upgrade with 403; the subprotocol {@code moosicbox.v2} is chosen
 * when offered.
 */
public final class EchoBackend implements AutoCloseable {
    final Server server = new Server();
    final ServerConnector connector = new ServerConnector(server);
    /** Close codes and reasons the backend received, as "CODE REASON". */
    final BlockingQueue<String> closes = new LinkedBlockingQueue<>();
    final AtomicLong floodSent = new AtomicLong();
    final BlockingQueue<Session> sessions = new LinkedBlockingQueue<>();

    EchoBackend() throws Exception {
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        JettyWebSocketServletContainerInitializer.configure(context, null);
        context.addServlet(new ServletHolder(new EchoServlet(this)), "/*");
        server.setHandler(context);
        server.start();
    }

    int port() {
        return connector.getLocalPort();
    }

    String url() {
        return "http://127.0.0.1:" + port();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    static final class EchoServlet extends JettyWebSocketServlet {
        private final transient EchoBackend backend;

        EchoServlet(EchoBackend backend) {
            this.backend = backend;
        }

        @Override
        protected void configure(JettyWebSocketServletFactory factory) {
            factory.setMaxBinaryMessageSize(64L << 20);
            factory.setMaxTextMessageSize(64L << 20);
            factory.setCreator((request, response) -> {
                if (request.getRequestPath().startsWith("/denied")) {
                    response.setHeader("WWW-Authenticate", "Bearer");
                    response.sendError(401, "no");
                    return null;
                }
                if (request.getSubProtocols().contains("moosicbox.v2")) {
                    response.setAcceptedSubProtocol("moosicbox.v2");
                }
                response.setHeader("Set-Cookie", "backend=1");
                Map<String, String> seen = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                for (String name : List.of("Host", "Cookie", "Authorization", "Origin", "X-Forwarded-For",
                        "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Custom", "User-Agent", "X-Request-Id")) {
                    String v = request.getHeader(name);
                    if (v != null) {
                        seen.put(name, v);
                    }
                }
                seen.put("query", String.valueOf(request.getQueryString()));
                seen.put("path", request.getRequestPath());
                return new EchoEndpoint(backend, seen.toString());
            });
        }
    }

    public static final class EchoEndpoint implements Session.Listener.AutoDemanding {
        private final EchoBackend backend;
        private final String headers;
        private volatile Session session;

        EchoEndpoint(EchoBackend backend, String headers) {
            this.backend = backend;
            this.headers = headers;
        }

        @Override
        public void onWebSocketOpen(Session s) {
            session = s;
            backend.sessions.add(s);
        }

        @Override
        public void onWebSocketText(String message) {
            if (message.startsWith("close ")) {
                String[] parts = message.split(" ", 3);
                session.close(Integer.parseInt(parts[1]), parts[2], Callback.NOOP);
            } else if (message.equals("die")) {
                session.disconnect();
            } else if (message.equals("headers")) {
                session.sendText(headers, Callback.NOOP);
            } else if (message.startsWith("flood ")) {
                flood(Long.parseLong(message.substring(6)) << 20);
            } else {
                session.sendText(message, Callback.NOOP);
            }
        }

        /** Sends as fast as the path to the client takes it: one 64 KiB message after the other. */
        private void flood(long total) {
            if (backend.floodSent.get() >= total) {
                return;
            }
            session.sendBinary(ByteBuffer.allocate(64 * 1024), Callback.from(() -> {
                backend.floodSent.addAndGet(64 * 1024);
                flood(total);
            }, x -> { }));
        }

        @Override
        public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
            session.sendBinary(payload, callback);
        }

        @Override
        public void onWebSocketPing(ByteBuffer payload) {
            // A pong the balancer could not have made up: it proves the ping reached the backend.
            String text = "backend:" + StandardCharsets.UTF_8.decode(payload);
            session.sendPong(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), Callback.NOOP);
        }

        @Override
        public void onWebSocketClose(int code, String reason) {
            backend.closes.add(code + " " + reason);
        }
    }
}
