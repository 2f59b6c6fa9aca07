package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The README's drain script, run verbatim (but for its first line, which names the balancer and
 * the backend) against the packaged balancer: it waits while the backend finishes a request, then
 * enables it again.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DrainScriptTest {
    private static final String FIRST_LINE = "lb=http://127.0.0.1:9090 backend=10.0.0.1:8001";
    private static final String LAST_LINE = "curl -fsS -X POST -H \"$auth\" \"$lb/api/backends/$backend/enable\"";

    /** The script as the README has it, from its first line to the enable. */
    static String readmeScript() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        int start = readme.indexOf(FIRST_LINE);
        int end = readme.indexOf(LAST_LINE, start);
        assertTrue(start >= 0 && end > start, "the README's drain script is gone");
        return readme.substring(start, end + LAST_LINE.length()) + "\n";
    }

    /**
     * Another run of the script at the same time (the README's advice for several replicas, or two
     * backends drained at once) must not end this one's wait: the script kept its state in a fixed
     * file, backend.json in the temporary folder, so a DRAINED written there by the other run stopped a server that
     * still had requests in flight. The other run is played by a thread writing that file.
     */
    @Test
    void theReadmeDrainScriptWaitsForTheBackendsRequestsThenEnablesIt() throws Exception {
        try (TestBackend a = new TestBackend("a"); TestBackend b = new TestBackend("b");
                LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", a.url() + "," + b.url()))) {
            // Round robin: of two slow requests, one is on a.
            CompletableFuture<Long> slowDoneAt = new CompletableFuture<>();
            for (int i = 0; i < 2; i++) {
                CompletableFuture.runAsync(() -> {
                    try {
                        Curl.Reply r = Curl.run(lb.proxyUrl() + "/slow?ms=4000");
                        if (r.body().startsWith("a after")) {
                            slowDoneAt.complete(System.nanoTime());
                        }
                    } catch (Exception e) {
                        slowDoneAt.completeExceptionally(e);
                    }
                });
            }
            Await.until("a slow request on a", () -> a.slowInProgress.get() > 0);

            String script = readmeScript().replace(FIRST_LINE, "lb=" + lb.adminUrl() + " backend=127.0.0.1:" + a.port());
            // The file the script used to keep (in the temporary folder, java.io.tmpdir on Linux).
            Path shared = Path.of(System.getProperty("java.io.tmpdir"), "backend.json");
            boolean existed = Files.exists(shared);
            AtomicBoolean otherRun = new AtomicBoolean(!existed || Files.isWritable(shared));
            Thread other = Thread.ofPlatform().daemon().start(() -> {
                while (otherRun.get()) {
                    try {
                        Files.writeString(shared, "[{\"address\":\"127.0.0.1:1\",\"state\":\"DRAINED\"}]");
                        Thread.sleep(1);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
            String out;
            boolean ended;
            long endedAt;
            try {
                out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                ended = p.waitFor(60, TimeUnit.SECONDS);
                endedAt = System.nanoTime();
            } finally {
                otherRun.set(false);
                other.join(1000);
                if (!existed) {
                    Files.deleteIfExists(shared);
                }
                p.destroyForcibly();
            }
            assertTrue(ended, out);
            assertEquals(0, p.exitValue(), out);
            long doneAt = slowDoneAt.get(10, TimeUnit.SECONDS);
            assertTrue(doneAt < endedAt, "the script ended before a's request finished: " + out);
            // The drain's answer, then the enable's: it was DRAINED when enabled, and is UP again.
            assertTrue(out.contains("\"state\":\"DRAINING\""), out);
            assertTrue(out.contains("\"previous_state\":\"DRAINED\""), out);
            assertTrue(out.endsWith("\"previous_state\":\"DRAINED\"}"), out);
            assertTrue(out.contains("\"state\":\"UP\""), out);
        }
    }
}
