package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.TestBalancer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;

/** The proxy listener's connections keep their read interest between requests, on real sockets. */
class ReadKeepingEndPointTest {
    @Test
    void readInterestStaysWhileAResponseIsOnItsWayAndIsDroppedForBytesNobodyReads() throws Exception {
        CountDownLatch arrived = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Server backend = TestBalancer.serve(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                if (Request.getPathInContext(request).equals("/hold")) {
                    arrived.countDown();
                    release.await(10, TimeUnit.SECONDS);
                }
                Content.Sink.write(response, true, Request.getPathInContext(request), callback);
                return true;
            }
        });
        LoadBalancer lb = TestBalancer.start(Duration.ofSeconds(5),
                TestBalancer.cluster("round_robin", PoolSettings.defaults(), TestBalancer.url(backend)));
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", lb.proxyPort()));
            socket.setSoTimeout(10_000);
            InputStream in = socket.getInputStream();
            socket.getOutputStream().write(ProxyThreadPoolTest.get("/first"));
            assertEquals("/first", ProxyThreadPoolTest.readResponse(in));

            socket.getOutputStream().write(ProxyThreadPoolTest.get("/hold"));
            assertTrue(arrived.await(10, TimeUnit.SECONDS), "the backend never got /hold");
            EndPoint endPoint = onlyEndPoint(lb);
            assertInstanceOf(ReadKeepingEndPoint.class, endPoint);
            // Jetty's own endpoint drops the interest as soon as its selector applies the change after
            // reading the request: "kio=0" within microseconds of the request reaching the backend.
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
            while (System.nanoTime() < until) {
                assertTrue(endPoint.toString().contains("kio=1"), "read interest dropped: " + endPoint);
                Thread.sleep(10);
            }

            // A pipelined request while nobody reads: the interest is dropped, not left to wake the selector.
            socket.getOutputStream().write(ProxyThreadPoolTest.get("/after"));
            TestBalancer.await("the read interest dropped for unread bytes", Duration.ofSeconds(5),
                    () -> endPoint.toString().contains("kio=0"));
            release.countDown();
            assertEquals("/hold", ProxyThreadPoolTest.readResponse(in));
            assertEquals("/after", ProxyThreadPoolTest.readResponse(in));
            // And the connection reads on as before.
            socket.getOutputStream().write(ProxyThreadPoolTest.get("/last"));
            assertEquals("/last", ProxyThreadPoolTest.readResponse(in));
        } finally {
            release.countDown();
            lb.stop();
            backend.stop();
        }
    }

    private static EndPoint onlyEndPoint(LoadBalancer lb) {
        ServerConnector proxy = (ServerConnector) Arrays.stream(lb.server().getConnectors())
                .filter(c -> LoadBalancer.PROXY_CONNECTOR.equals(c.getName())).findFirst().orElseThrow();
        Collection<EndPoint> endPoints = proxy.getConnectedEndPoints();
        assertEquals(1, endPoints.size(), endPoints.toString());
        return endPoints.iterator().next();
    }
}
