package io.moosicbox.lb.websocket;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/** A Jetty WebSocket client endpoint that records what it receives. */
public final class TestClient implements Session.Listener.AutoDemanding {
    final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
    final BlockingQueue<String> pongs = new LinkedBlockingQueue<>();
    /** "CODE REASON" once the session closed. */
    final CompletableFuture<String> closed = new CompletableFuture<>();
    volatile Session session;

    @Override
    public void onWebSocketOpen(Session s) {
        session = s;
    }

    @Override
    public void onWebSocketText(String message) {
        messages.add(message);
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        byte[] copy = new byte[payload.remaining()];
        payload.get(copy);
        messages.add(copy);
        callback.succeed();
    }

    @Override
    public void onWebSocketPong(ByteBuffer payload) {
        pongs.add(StandardCharsets.UTF_8.decode(payload).toString());
    }

    @Override
    public void onWebSocketClose(int code, String reason) {
        closed.complete(code + " " + reason);
    }

    String nextText() throws InterruptedException {
        Object m = messages.poll(10, TimeUnit.SECONDS);
        if (!(m instanceof String s)) {
            throw new AssertionError("expected a text message, got " + m);
        }
        return s;
    }

    byte[] nextBinary() throws InterruptedException {
        Object m = messages.poll(20, TimeUnit.SECONDS);
        if (!(m instanceof byte[] b)) {
            throw new AssertionError("expected a binary message, got " + m);
        }
        return b;
    }

    String awaitClose() throws Exception {
        return closed.get(10, TimeUnit.SECONDS);
    }

    void send(String text) throws Exception {
        Callback.Completable done = new Callback.Completable();
        session.sendText(text, done);
        done.get(10, TimeUnit.SECONDS);
    }
}
