package io.moosicbox.lb.proxy;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;

/**
 * The clear-text HTTP/1.1 connections of {@link DirectConnection}s, kept per backend address and
 * reused most recently used first (the warm one: docs/benchmarks.md, "The backend pool's order").
 * Connecting, timeouts and selectors are Jetty's {@link ClientConnector}; host names are looked up
 * off the selector threads, and each of a name's addresses is tried in turn, as Jetty's client does.
 */
final class DirectBackends extends ClientConnector {
    private static final String POOL = DirectBackends.class.getName() + ".pool";
    private final Map<URI, Pool> pools = new ConcurrentHashMap<>();
    private SocketAddressResolver resolver;

    /** Idle connections to one backend address. */
    final class Pool {
        private final String host;
        private final int port;
        private final ConcurrentLinkedDeque<DirectConnection> idle = new ConcurrentLinkedDeque<>();

        private Pool(String host, int port) {
            this.host = host;
            this.port = port;
        }

        void release(DirectConnection connection) {
            idle.offerFirst(connection);
        }

        void remove(DirectConnection connection) {
            idle.remove(connection);
        }
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        resolver = new SocketAddressResolver.Async(getExecutor(), getScheduler(), getConnectTimeout().toMillis());
    }

    @Override
    protected void doStop() throws Exception {
        for (Pool pool : pools.values()) {
            for (DirectConnection c; (c = pool.idle.pollFirst()) != null; ) {
                c.close();
            }
        }
        super.doStop();
    }

    /** The pool of the backend at this {@code http://host:port} URL. */
    Pool pool(URI url) {
        Pool pool = pools.get(url);
        return pool != null ? pool : pools.computeIfAbsent(url, u -> {
            String host = u.getHost();
            return new Pool(host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host,
                    u.getPort() < 0 ? 80 : u.getPort());
        });
    }

    /** Sends the call over an idle connection of the pool, or over a new one. */
    void send(Pool pool, DirectConnection.Call call) {
        for (DirectConnection c; (c = pool.idle.pollFirst()) != null; ) {
            if (c.claim()) {
                c.send(call);
                return;
            }
        }
        resolver.resolve(pool.host, pool.port, Map.of(), new Promise<>() {
            @Override
            public void succeeded(List<InetSocketAddress> addresses) {
                connect(pool, addresses, 0, call);
            }

            @Override
            public void failed(Throwable failure) {
                call.failed(failure, false);
            }
        });
    }

    private void connect(Pool pool, List<InetSocketAddress> addresses, int index, DirectConnection.Call call) {
        Map<String, Object> context = new HashMap<>(4);
        context.put(POOL, pool);
        context.put(Transport.CONTEXT_KEY, Transport.TCP_IP);
        context.put(CONNECTION_PROMISE_CONTEXT_KEY, new Promise<Connection>() {
            @Override
            public void succeeded(Connection connection) {
                ((DirectConnection) connection).send(call);
            }

            @Override
            public void failed(Throwable failure) {
                if (index + 1 < addresses.size()) {
                    connect(pool, addresses, index + 1, call);
                } else {
                    call.failed(failure, false);
                }
            }
        });
        connect(addresses.get(index), context);
    }

    @Override
    protected Connection newConnection(EndPoint endPoint, Map<String, Object> context) {
        DirectConnection connection = new DirectConnection(endPoint, getExecutor(), getByteBufferPool(), (Pool) context.get(POOL));
        connection.setInputBufferSize(16 * 1024);
        return connection;
    }
}
