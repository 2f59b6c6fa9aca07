package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.EnvConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.HostPort;
import io.moosicbox.lb.config.LbConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.BackendState;
import io.moosicbox.lb.pool.TestBalancer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Draining a backend while keep-alive clients send continuously, some requests slow: nothing
 * fails, the drained backend takes no new request, finishes those it has, and becomes DRAINED.
 */
class BackendDrainTest {
    private final List<Server> backends = new ArrayList<>();
    private final AtomicInteger slowInFlight = new AtomicInteger();
    private LoadBalancer lb;
    private HttpClient client;

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.stop();
        }
        if (lb != null) {
            lb.stop();
        }
        for (Server s : backends) {
            s.stop();
        }
    }

    private String startBackend(String name) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, org.eclipse.jetty.server.Response response, org.eclipse.jetty.util.Callback callback)
                    throws Exception {
                if (Request.getPathInContext(request).equals("/slow")) {
                    slowInFlight.incrementAndGet();
                    try {
                        Thread.sleep(300);
                    } finally {
                        slowInFlight.decrementAndGet();
                    }
                }
                Content.Sink.write(response, true, name, callback);
                return true;
            }
        });
        server.start();
        backends.add(server);
        return "http://127.0.0.1:" + connector.getLocalPort();
    }

    @Test
    void drainingUnderLoadLosesNothingAndEndsDrained() throws Exception {
        String a = startBackend("a");
        String b = startBackend("b");
        ClusterConfig cluster = new ClusterConfig("default", List.of("*"), List.of("/"), "round_robin",
                HealthCheckConfig.defaults(), List.of(BackendSpec.parse(a), BackendSpec.parse(b)), PoolSettings.defaults());
        LbConfig d = EnvConfig.defaults();
        lb = new LoadBalancer(new LbConfig(new LbConfig.Listeners(new HostPort("127.0.0.1", 0), null, new HostPort("127.0.0.1", 0)),
                d.tls(), List.of(cluster), d.timeouts(), d.shutdown(), d.admin(), "info"));
        lb.start();
        client = new HttpClient();
        client.start();
        Backend drained = lb.clusters().getFirst().backends().getFirst();
        assertTrue(drained.baseUrl().equals(a), drained.baseUrl());

        LongAdder completed = new LongAdder();
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            String path = t % 2 == 0 ? "/slow" : "/";
            senders.add(Thread.ofVirtual().start(() -> {
                while (running.get() && System.nanoTime() < deadline) {
                    try {
                        ContentResponse r = client.newRequest("http://127.0.0.1:" + lb.proxyPort() + path)
                                .timeout(10, TimeUnit.SECONDS).send();
                        if (r.getStatus() == 200) {
                            completed.increment();
                        } else {
                            failures.add(r.getStatus() + " " + r.getContentAsString());
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            }));
        }
        try {
            TestBalancer.await("slow requests in flight on the backend to drain", Duration.ofSeconds(15), () -> drained.inflight() > 0 && slowInFlight.get() > 0);
            drained.setState(BackendState.DRAINING);
            long requestsAtDrain = drained.requests();
            TestBalancer.await("DRAINED once its requests finished", Duration.ofSeconds(15), () -> drained.state() == BackendState.DRAINED);
            assertEquals(0, drained.inflight());
            long done = completed.sum();
            TestBalancer.await("the other backend keeps serving", Duration.ofSeconds(15), () -> completed.sum() >= done + 30);
            assertEquals(requestsAtDrain, drained.requests(), "no new request went to the draining backend");
        } finally {
            running.set(false);
            for (Thread t : senders) {
                t.join(TimeUnit.SECONDS.toMillis(15));
            }
        }
        assertEquals(List.of(), List.copyOf(failures));
    }

}
