package io.moosicbox.lb.dist;

import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * The demo backends' {@code /ws}: each text message comes back with the name of the backend that
 * holds the session. Public because Jetty binds endpoint methods by public lookup.
 */
public final class DemoWebSocket implements Session.Listener.AutoDemanding {
    private final String name;
    private volatile Session session;

    DemoWebSocket(String name) {
        this.name = name;
    }

    @Override
    public void onWebSocketOpen(Session s) {
        session = s;
    }

    @Override
    public void onWebSocketText(String message) {
        session.sendText(name + ": " + message, Callback.NOOP);
    }
}
