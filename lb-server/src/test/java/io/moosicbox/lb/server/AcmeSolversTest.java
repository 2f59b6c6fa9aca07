package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moosicbox.lb.config.BackendSpec;
import io.moosicbox.lb.config.ClusterConfig;
import io.moosicbox.lb.config.HealthCheckConfig;
import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.TestBackend;
import io.moosicbox.lb.pool.TestBalancer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * cert-manager's HTTP-01 solvers, one pod per challenge, each answering 404 to the tokens of the
 * others: a Certificate with several names has several at once behind the solver cluster.
 */
class AcmeSolversTest {
    private static final String PREFIX = "/.well-known/acme-challenge/";
    private final List<Server> servers = new ArrayList<>();
    private LoadBalancer lb;
    private HttpClient client;

    /** A solver that knows one token. */
    private String solver(String token) throws Exception {
        Server s = TestBalancer.serve(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                if (!request.getHttpURI().getPath().equals(PREFIX + token)) {
                    Response.writeError(request, response, callback, 404);
                    return true;
                }
                Content.Sink.write(response, true, token + ".key", callback);
                return true;
            }
        });
        servers.add(s);
        return TestBalancer.url(s);
    }

    /** A solver pod that went away: its port refuses connections. */
    private static String gone() throws Exception {
        return "http://127.0.0.1:" + TestBackend.refusingPort();
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.stop();
        }
        if (lb != null) {
            lb.stop();
        }
        for (Server s : servers) {
            s.stop();
        }
    }

    @Test
    void everyChallengeIsAnsweredWhicheverSolverIsAskedFirst() throws Exception {
        ClusterConfig solvers = new ClusterConfig("solver", List.of("*"), List.of(PREFIX), "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse(solver("music")), BackendSpec.parse(solver("www"))), PoolSettings.defaults());
        ClusterConfig music = new ClusterConfig("music", List.of("*"), List.of("/"), "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse(solver("none"))), PoolSettings.defaults());
        lb = TestBalancer.start(Duration.ofSeconds(10), solvers, music);
        client = new HttpClient();
        client.start();
        // The same token several times in a row: round robin alone would answer every other one from the wrong solver.
        for (String token : List.of("music", "www")) {
            for (int i = 0; i < 4; i++) {
                ContentResponse r = get(PREFIX + token);
                assertEquals(200, r.getStatus(), token + ": " + r.getContentAsString());
                assertEquals(token + ".key", r.getContentAsString());
            }
        }
        // A token no solver knows is a 404, after every solver was asked once.
        assertEquals(404, get(PREFIX + "unknown").getStatus());
        for (Backend b : lb.router().cluster("solver").backends()) {
            assertEquals(0, b.failures(), "a solver's 404 is no failure");
        }
        // Other clusters' 404s are answers like any other.
        assertEquals(404, get("/nothing-here").getStatus());
    }

    /**
     * Solver pods of finished challenges that went away refuse connections: those refusals must not
     * use up LB_RETRIES before the solver that knows the token is asked.
     */
    @Test
    void goneSolversDoNotUseUpTheRetriesBeforeTheOneThatKnowsTheToken() throws Exception {
        // Retries 2 (the default), no passive ejection: every request meets the refusals.
        PoolSettings pool = new PoolSettings(2, 100, Duration.ofSeconds(5), Duration.ZERO, "client_ip", 0, Duration.ofSeconds(30), false, false);
        ClusterConfig solvers = new ClusterConfig("solver", List.of("*"), List.of(PREFIX), "round_robin", HealthCheckConfig.defaults(),
                List.of(BackendSpec.parse(gone()), BackendSpec.parse(gone()), BackendSpec.parse(gone()), BackendSpec.parse(solver("music"))), pool);
        lb = TestBalancer.start(Duration.ofSeconds(10), solvers);
        client = new HttpClient();
        client.start();
        for (int i = 0; i < 8; i++) {
            ContentResponse r = get(PREFIX + "music");
            assertEquals(200, r.getStatus(), "challenge " + i + ": " + r.getContentAsString());
        }
    }

    private ContentResponse get(String path) throws Exception {
        return client.newRequest("http://127.0.0.1:" + lb.proxyPort() + path).timeout(10, TimeUnit.SECONDS).send();
    }
}
