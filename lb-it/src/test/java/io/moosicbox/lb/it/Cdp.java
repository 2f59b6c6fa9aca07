package io.moosicbox.lb.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/** A minimal Chrome DevTools Protocol client for one page target, over Jetty's WebSocket client. */
public final class Cdp implements Session.Listener.AutoDemanding, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final WebSocketClient client = new WebSocketClient();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private volatile Session session;

    Cdp(URI pageWebSocket) throws Exception {
        client.setMaxTextMessageSize(64L * 1024 * 1024);
        client.start();
        session = client.connect(this, pageWebSocket).get(10, TimeUnit.SECONDS);
    }

    /** Sends a command and waits for its result; a protocol error fails. */
    JsonNode call(String method, Map<String, Object> params) throws Exception {
        int id = ids.incrementAndGet();
        ObjectNode msg = JSON.createObjectNode().put("id", id).put("method", method);
        msg.set("params", JSON.valueToTree(params));
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        session.sendText(JSON.writeValueAsString(msg), Callback.NOOP);
        JsonNode r = reply.get(20, TimeUnit.SECONDS);
        if (r.has("error")) {
            throw new IllegalStateException(method + " failed: " + r.get("error"));
        }
        return r.get("result");
    }

    /** Evaluates a JavaScript expression in the page and returns its value (awaiting promises). */
    JsonNode eval(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        if (r.has("exceptionDetails")) {
            throw new IllegalStateException("page threw: " + r.get("exceptionDetails"));
        }
        return r.get("result").path("value");
    }

    @Override
    public void onWebSocketText(String message) {
        try {
            JsonNode m = JSON.readTree(message);
            if (m.has("id")) {
                CompletableFuture<JsonNode> f = pending.remove(m.get("id").asInt());
                if (f != null) {
                    f.complete(m);
                }
            }
        } catch (Exception e) {
            pending.values().forEach(f -> f.completeExceptionally(e));
        }
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        pending.values().forEach(f -> f.completeExceptionally(cause));
    }

    @Override
    public void close() throws Exception {
        if (session != null) {
            session.close();
        }
        client.stop();
    }
}
