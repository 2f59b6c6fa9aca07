package io.moosicbox.lb.dist;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * Two tiny backends on loopback for {@code --demo}: each says who it is, so that a newcomer
 * sees the balancer alternate between them, and echoes WebSocket messages on {@code /ws}, the path
 * MoosicBox servers use.
 */
final class DemoBackends implements AutoCloseable {
    private final List<Server> servers = new ArrayList<>();

    List<String> start(int count) throws Exception {
        List<String> urls = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            Server server = new Server();
            ServerConnector connector = new ServerConnector(server, 1, 1);
            connector.setHost("127.0.0.1");
            connector.setPort(0);
            server.addConnector(connector);
            String name = "demo-backend-" + i;
            WebSocketUpgradeHandler webSockets = WebSocketUpgradeHandler.from(server, container -> {
                // As a MoosicBox server's, a quiet session stays: the balancer's WEBSOCKET_IDLE_TIMEOUT
                // (1h) judges silence. Jetty's default of 30 s closed a session tried through the demo.
                container.setIdleTimeout(Duration.ZERO);
                container.addMapping("/ws", (upgradeRequest, upgradeResponse, callback) -> new DemoWebSocket(name));
            });
            webSockets.setHandler(new Hello(name));
            server.setHandler(webSockets);
            server.start();
            servers.add(server);
            urls.add("http://127.0.0.1:" + connector.getLocalPort());
        }
        return urls;
    }

    @Override
    public void close() throws Exception {
        for (Server s : servers) {
            s.stop();
        }
    }

    private static final class Hello extends Handler.Abstract.NonBlocking {
        private final String name;

        Hello(String name) {
            this.name = name;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = Request.getPathInContext(request);
            String body = path.equals("/health")
                    ? "{\"status\":\"ok\"}\n"
                    : "Hello from " + name + " (port " + Request.getLocalPort(request) + "), you asked for "
                            + request.getMethod() + " " + request.getHttpURI().getPathQuery()
                            + ", forwarded for " + request.getHeaders().get("X-Forwarded-For") + "\n";
            response.setStatus(200);
            response.getHeaders().put("Content-Type", path.equals("/health") ? "application/json" : "text/plain;charset=utf-8");
            response.getHeaders().put("X-Demo-Backend", name);
            response.write(true, java.nio.ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
