package io.moosicbox.lb.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Loopback ports for tests that name a port before anything listens on it. */
final class Ports {
    private static final List<Socket> REFUSING = new CopyOnWriteArrayList<>();

    private Ports() {
    }

    /**
     * A port that refuses connections for the rest of the test run: a socket bound to it and never
     * listening. A port found free and closed again can be taken by the next listener started
     * (another balancer's admin port once answered for a "dead" backend).
     */
    static int refusing() throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        REFUSING.add(socket);
        return socket.getLocalPort();
    }

    /** Distinct free ports, for listeners started later: picked one after another, a port just closed can come back. */
    static int[] free(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
                ports[i] = sockets.get(i).getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
    }
}
