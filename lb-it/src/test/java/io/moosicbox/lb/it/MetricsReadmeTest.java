package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's table of metrics is what {@code /metrics} of the tarball's balancer serves after some traffic: every
 * family it lists, with its type and labels, and no family it does not list.
 */
class MetricsReadmeTest {
    private static final Pattern TYPE = Pattern.compile("(?m)^# TYPE (moosicbox_lb_\\S+) (\\S+)$");
    private static final Pattern SAMPLE = Pattern.compile("(?m)^(moosicbox_lb_[a-z0-9_]+)(?:\\{([^}]*)\\})? ");
    private static final Pattern LABEL = Pattern.compile("([a-z_]+)=\"");

    @TempDir
    Path dir;

    @Test
    void everyMetricOfTheReadmeIsServedWithItsTypeAndLabelsAndNoOther() throws Exception {
        Map<String, String> documented = readmeTable();
        assertTrue(documented.size() > 20, "the README's table was read: " + documented);

        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Http.Result openssl = Http.run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-keyout", key.toString(), "-out", cert.toString(), "-days", "1", "-nodes", "-subj", "/CN=localhost");
        assertEquals(0, openssl.exitCode(), openssl.stderr());
        // TLS and the access log on: their metrics exist only then.
        try (TestBackend backend = new TestBackend("a");
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", backend.url(), "SSL_BIND_ADDRESS", "127.0.0.1:0",
                     "SSL_CERT_PATH", cert.toString(), "SSL_KEY_PATH", key.toString(), "ACCESS_LOG", "stdout"))) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, Curl.run(lb.proxyUrl() + "/").status());
            }
            String text = metrics(lb);
            Map<String, String> served = new TreeMap<>();
            Matcher type = TYPE.matcher(text);
            while (type.find()) {
                served.put(type.group(1), type.group(2));
            }
            Map<String, Set<String>> labels = new TreeMap<>();
            Matcher sample = SAMPLE.matcher(text);
            while (sample.find()) {
                String family = sample.group(1).replaceFirst("_(bucket|sum|count|created)$", "");
                if (!served.containsKey(family)) {
                    family = sample.group(1);
                }
                Set<String> names = labels.computeIfAbsent(family, f -> new TreeSet<>());
                if (sample.group(2) != null) {
                    Matcher l = LABEL.matcher(sample.group(2));
                    while (l.find()) {
                        if (!l.group(1).equals("le")) {
                            names.add(l.group(1));
                        }
                    }
                }
            }
            Map<String, String> servedTypes = new TreeMap<>();
            served.forEach((name, t) -> servedTypes.put(name + " " + t, String.join(", ", labels.getOrDefault(name, Set.of()))));
            assertEquals(documented, servedTypes, "README's table of metrics (name type: labels) vs /metrics");
            assertTrue(text.contains("\njvm_") && text.contains("\nprocess_"), "the JVM and process metrics the README lists");
        }
    }

    private static String metrics(LbProcess lb) {
        try {
            Curl.Reply r = Curl.run(lb.adminUrl() + "/metrics");
            assertEquals(200, r.status());
            return r.body();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    /** "name type" to its labels, comma-separated in order, from the README's rows {@code | `name` | type | labels | meaning |}. */
    private static Map<String, String> readmeTable() throws Exception {
        String readme = Files.readString(LbProcess.home().resolve("README.md"));
        Map<String, String> rows = new TreeMap<>();
        Matcher row = Pattern.compile("(?m)^\\| `(moosicbox_lb_[a-z0-9_]+)` \\| ([a-z]+) \\| ([^|]*) \\|").matcher(readme);
        while (row.find()) {
            // The label names are the backquoted words outside the parentheses that explain their values.
            String cell = row.group(3);
            for (String before = ""; !before.equals(cell); ) {
                before = cell;
                cell = cell.replaceAll("\\([^()]*\\)", "");
            }
            Set<String> names = new TreeSet<>();
            Matcher word = Pattern.compile("`([a-z_]+)`").matcher(cell);
            while (word.find()) {
                names.add(word.group(1));
            }
            rows.put(row.group(1) + " " + row.group(2), String.join(", ", names));
        }
        return rows;
    }
}
