package io.moosicbox.lb.tls;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Runs the command-line clients the TLS tests use (openssl, curl, h2load), bounded in time. */
final class Tools {
    private Tools() {}

    record Run(int exit, String out, String err) {}

    /** Under CI a missing tool fails the test; elsewhere it is skipped with the reason. */
    static void require(String tool) {
        if (!onPath(tool)) {
            String reason = tool + " is not installed (apt-get install " + ("h2load".equals(tool) ? "nghttp2-client" : tool) + ")";
            if ("true".equals(System.getenv("CI"))) {
                fail(reason);
            }
            Assumptions.abort(reason);
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Path.of(dir, tool).toFile().canExecute()) {
                return true;
            }
        }
        return false;
    }

    static Run run(Path dir, String stdin, String... command) {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir == null ? null : dir.toFile());
        try {
            Process p = pb.start();
            if (stdin != null) {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            // Read both streams while waiting, so that a chatty tool cannot block on a full pipe.
            var out = p.getInputStream();
            var err = p.getErrorStream();
            StringBuilder errText = new StringBuilder();
            Thread errReader = Thread.ofVirtual().start(() -> {
                try {
                    errText.append(new String(err.readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            String outText = new String(out.readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", command) + " did not finish within 60 s");
            }
            errReader.join(5000);
            return new Run(p.exitValue(), outText, errText.toString());
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command[0] + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs and expects exit 0. */
    static String ok(Path dir, String... command) {
        Run r = run(dir, null, command);
        if (r.exit() != 0) {
            fail(String.join(" ", command) + " exited " + r.exit() + ": " + r.err() + r.out());
        }
        return r.out();
    }

    static String[] concat(List<String> a, String... b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(b));
        return all.toArray(String[]::new);
    }
}
