package io.moosicbox.lb.server;

import io.moosicbox.lb.config.HostPort;
import java.io.IOException;
import java.net.BindException;

/**
 * A listener that cannot bind its address, named as the user sets it:
 * {@code cannot listen on BIND_ADDRESS=127.0.0.1:8080 (listeners.http in the file): Address already in use}.
 */
public final class ListenerBindException extends IOException {
    ListenerBindException(String variable, String fileKey, HostPort address, IOException cause) {
        super("cannot listen on " + variable + "=" + address + " (" + fileKey + " in the file): " + reason(cause), cause);
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
