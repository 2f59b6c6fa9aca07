package io.moosicbox.lb.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class DemoBackendsTest {
    /** What a demo backend's /ws session did, in order: its texts and its close. */
    public static final class Recorder implements Session.Listener.AutoDemanding {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();

        @Override
        public void onWebSocketText(String message) {
            events.add(message);
        }

        @Override
        public void onWebSocketClose(int code, String reason, Callback callback) {
            events.add("closed " + code + " " + reason);
            callback.succeed();
        }
    }

    /**
     * The demo stands for a MoosicBox server, whose /ws sessions stay open for hours: silence is the
     * balancer's WEBSOCKET_IDLE_TIMEOUT (1h) to judge, not Jetty's 30 s default in the demo backend,
     * which closed a quiet session tried through the demo with 1001 "Connection Idle Timeout".
     */
    @Test
    @Timeout(90)
    void aQuietSessionOutlivesJettysDefaultIdleTimeout() throws Exception {
        try (DemoBackends backends = new DemoBackends()) {
            String url = backends.start(1).getFirst();
            WebSocketClient client = new WebSocketClient();
            client.setIdleTimeout(Duration.ofMinutes(5));
            client.start();
            try {
                Recorder recorder = new Recorder();
                Session session = client.connect(recorder, URI.create("ws" + url.substring(4) + "/ws")).get(10, TimeUnit.SECONDS);
                session.sendText("hello", Callback.NOOP);
                assertEquals("demo-backend-1: hello", recorder.events.poll(10, TimeUnit.SECONDS));
                // Jetty's default WebSocket idle timeout is 30 s.
                String quiet = recorder.events.poll(33, TimeUnit.SECONDS);
                assertEquals(null, quiet, "the quiet session was ended by the demo backend");
                session.sendText("still here", Callback.NOOP);
                assertEquals("demo-backend-1: still here", recorder.events.poll(10, TimeUnit.SECONDS));
                session.close();
            } finally {
                client.stop();
            }
        }
    }
}
