package io.moosicbox.lb.pool.health;

import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.pool.Backend;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/** Healthy when a TCP connection opens: what the MoosicBox load balancer checked before. */
public final class TcpConnectCheck implements HealthCheck {

    @Override
    public void check(Backend backend, Duration timeout) throws Exception {
        // Resolved on every check, so that a backend whose DNS name moves (Kubernetes) is followed; a
        // name with '_' through the backend, which keeps its address for the proxy's requests.
        HostPort to = HostPort.of(backend.resolvedUrl());
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(to.host(), to.port()), (int) Math.max(1, timeout.toMillis()));
        }
    }

    @Override
    public String toString() {
        return "TCP connect";
    }
}
