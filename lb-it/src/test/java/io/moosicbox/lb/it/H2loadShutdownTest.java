package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * nghttp2's h2load, an HTTP/2 client independent of Jetty, multiplexing 8 streams on each of 4
 * connections while the balancer gets SIGTERM: every request h2load sent was answered with a
 * 2xx, and every request that reached a backend was answered. h2load counts as failed the
 * requests it queued in the instant the GOAWAY arrived and then never sent (nghttp2 closes them
 * with REFUSED_STREAM so that the application may send them again); its per-request log tells
 * them apart: they have no send time. h2load ends when the balancer has closed its connections;
 * a process deadline bounds it.
 * Debian package nghttp2-client.
 */
class H2loadShutdownTest {
    private static final Pattern REQUESTS = Pattern.compile(
            "requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored, (\\d+) timeout");

    @Test
    void h2loadSeesNoErrorAcrossSigterm() throws Exception {
        assumeTrue(onPath("h2load") || System.getenv("CI") != null, "h2load (Debian nghttp2-client) is not installed");
        try (TestBackend a = new TestBackend("a"); TestBackend b = new TestBackend("b");
                LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", a.url() + "," + b.url(), "SHUTDOWN_TIMEOUT", "10s"))) {
            Path out = Files.createTempFile(Path.of("target"), "h2load-", ".out");
            Path log = Files.createTempFile(Path.of("target"), "h2load-", ".log");
            Process h2load = new ProcessBuilder("h2load", "-c", "4", "-m", "8", "-n", "1000000", "--log-file=" + log,
                    lb.proxyUrl() + "/", lb.proxyUrl() + "/slow?ms=400")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            try {
                // SIGTERM once the load has run a while and slow requests are in flight.
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while ((a.requests.get() + b.requests.get() < 100 || a.slowInProgress.get() + b.slowInProgress.get() < 2)
                        && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertTrue(a.slowInProgress.get() + b.slowInProgress.get() > 0, "slow requests in flight before SIGTERM");
                long termAt = System.nanoTime();
                lb.signal("TERM");
                int exit = lb.awaitExit(Duration.ofSeconds(20));
                long exitMs = (System.nanoTime() - termAt) / 1_000_000;
                assertTrue(h2load.waitFor(30, TimeUnit.SECONDS), "h2load ends once the balancer closed its connections");
                String report = Files.readString(out, StandardCharsets.UTF_8);
                Matcher r = REQUESTS.matcher(report);
                assertTrue(r.find(), report);
                // One line per request: send time in microseconds (0: never sent), status (-1: failed), duration.
                int sent = 0;
                int answered = 0;
                int neverSent = 0;
                List<String> lost = new ArrayList<>();
                for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                    String[] f = line.split("\t");
                    if (f[0].equals("0")) {
                        neverSent++;
                        assertEquals("-1", f[1], "a request never sent cannot have an answer: " + line);
                        continue;
                    }
                    sent++;
                    int status = Integer.parseInt(f[1]);
                    if (status >= 200 && status < 300) {
                        answered++;
                    } else {
                        lost.add(line);
                    }
                }
                int reachedBackends = a.requests.get() + b.requests.get();
                String summary = "h2load: sent=" + sent + " answered-2xx=" + answered + " failed=" + lost.size()
                        + " queued-never-sent=" + neverSent + " reached-backends=" + reachedBackends
                        + ", SIGTERM to exit " + exitMs + " ms";
                System.out.println(summary + "\n" + report);
                assertEquals(0, exit, lb.stderr());
                assertEquals(List.of(), lost, "sent and not answered 2xx: " + summary);
                assertEquals(reachedBackends, answered, "every request that reached a backend was answered: " + summary);
                assertEquals(r.group(3), r.group(2), "every started request finished: " + report);
                assertEquals("0", r.group(7), "timeouts: " + report);
                assertTrue(answered >= 100, "load ran: " + summary);
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
