package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * nghttp2's h2load, an HTTP/2 client independent of Jetty, multiplexing 8 streams on each of 4
 * connections while the balancer gets SIGTERM: every request it started succeeds with a 2xx.
 * Bounded by {@code -D} (duration) and a process deadline. Debian package nghttp2-client.
 */
class H2loadShutdownTest {
    private static final Pattern REQUESTS = Pattern.compile(
            "requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored, (\\d+) timeout");
    private static final Pattern STATUS = Pattern.compile("status codes: (\\d+) 2xx, (\\d+) 3xx, (\\d+) 4xx, (\\d+) 5xx");

    @Test
    @Disabled("HTTP/2 drain is not lossless yet: in 1 run of 4, 2 of 50 streams failed around the final GOAWAY (see ShutdownTest)")
    void h2loadSeesNoErrorAcrossSigterm() throws Exception {
        assumeTrue(onPath("h2load") || System.getenv("CI") != null, "h2load (Debian nghttp2-client) is not installed");
        try (TestBackend a = new TestBackend("a"); TestBackend b = new TestBackend("b");
                LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", a.url() + "," + b.url(), "SHUTDOWN_TIMEOUT", "10s"))) {
            Path out = Files.createTempFile(Path.of("target"), "h2load-", ".out");
            Process h2load = new ProcessBuilder("h2load", "-c", "4", "-m", "8", "-D", "6",
                    lb.proxyUrl() + "/", lb.proxyUrl() + "/slow?ms=400")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            try {
                // SIGTERM once the load runs and slow requests are in flight.
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (a.slowInProgress.get() + b.slowInProgress.get() < 4 && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertTrue(a.slowInProgress.get() + b.slowInProgress.get() > 0, "slow requests in flight before SIGTERM");
                long termAt = System.nanoTime();
                lb.signal("TERM");
                int exit = lb.awaitExit(Duration.ofSeconds(20));
                long exitMs = (System.nanoTime() - termAt) / 1_000_000;
                assertTrue(h2load.waitFor(30, TimeUnit.SECONDS), "h2load ends after its -D duration");
                String report = Files.readString(out, StandardCharsets.UTF_8);
                System.out.println("h2load across SIGTERM (exit after " + exitMs + " ms):\n" + report);
                assertEquals(0, exit, lb.stderr());
                Matcher r = REQUESTS.matcher(report);
                Matcher s = STATUS.matcher(report);
                assertTrue(r.find() && s.find(), report);
                long started = Long.parseLong(r.group(2));
                long done = Long.parseLong(r.group(3));
                long succeeded = Long.parseLong(r.group(4));
                assertTrue(succeeded >= 20, "load ran: " + report);
                assertEquals(started, done, "every started request finished: " + report);
                assertEquals(done, succeeded, "every finished request succeeded: " + report);
                assertEquals("0 0 0", r.group(5) + " " + r.group(6) + " " + r.group(7), "failed errored timeout: " + report);
                assertEquals(succeeded, Long.parseLong(s.group(1)), "all 2xx: " + report);
                assertTrue(lb.stderr().contains("nothing cut"), lb.stderr());
            } finally {
                h2load.destroyForcibly();
            }
        }
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }
}
