package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A backend that resets its idle keep-alive connections (SO_LINGER 0 after a quiet moment) must
 * cost the clients nothing: the balancer's next request goes on a fresh connection. A change that
 * made a reset an error left such connections in the pool, and every other request was a 502.
 */
class IdleResetBackendTest {
    private static final int IDLE_MS = 300;
    private ServerSocket backend;
    private LoadBalancer lb;
    private HttpClient client;

    @BeforeEach
    void start() throws Exception {
        backend = TestBalancer.rawBackend(IdleResetBackendTest::serve);
        lb = TestBalancer.start(Duration.ofSeconds(5), TestBalancer.cluster("round_robin", PoolSettings.defaults(),
                "http://127.0.0.1:" + backend.getLocalPort()));
        client = new HttpClient();
        client.start();
    }

    /** Answers requests on one connection until it has been quiet for IDLE_MS, then resets it. */
    private static void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            s.setSoTimeout(IDLE_MS);
            while (true) {
                StringBuilder head = new StringBuilder();
                try {
                    for (int b; !head.toString().endsWith("\r\n\r\n"); head.append((char) b)) {
                        if ((b = in.read()) < 0) {
                            return;
                        }
                    }
                } catch (SocketTimeoutException quiet) {
                    s.setSoLinger(true, 0);
                    return;
                }
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            // the balancer closed it
        }
    }

    @AfterEach
    void stop() throws Exception {
        client.stop();
        lb.stop();
        backend.close();
    }

    @Test
    void requestsAfterTheBackendResetItsIdleConnectionsSucceed() throws Exception {
        for (int i = 0; i < 4; i++) {
            assertEquals(200, client.newRequest("http://127.0.0.1:" + lb.proxyPort() + "/r" + i)
                    .timeout(5, TimeUnit.SECONDS).send().getStatus(), "request " + i);
            Thread.sleep(IDLE_MS * 2); // the backend resets the connection meanwhile: what is tested
        }
        Backend b = TestBalancer.only(lb).backends().getFirst();
        assertEquals(0, b.failures(), "last error: " + b.lastError());
    }
}
