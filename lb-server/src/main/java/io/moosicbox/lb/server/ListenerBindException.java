package io.moosicbox.lb.server;

import java.io.IOException;
import java.net.BindException;

/**
 * A listener that cannot bind its address, named as the user set it:
 * {@code cannot listen on BIND_ADDRESS="127.0.0.1:8080": Address already in use}, or
 * {@code cannot listen on listeners.http: 127.0.0.1:8080 in the file: ...}.
 */
public final class ListenerBindException extends IOException {
    /** @param setting the listener's setting and address, from {@link io.moosicbox.lb.config.Origins#name} */
    ListenerBindException(String setting, IOException cause) {
        super("cannot listen on " + setting + ": " + reason(cause), cause);
    }

    /** The system's reason ({@code Address already in use}), not Jetty's wrapping ({@code Failed to bind to ...}). */
    private static String reason(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException && t.getMessage() != null) {
                return t.getMessage();
            }
        }
        return e.getMessage();
    }
}
