package io.moosicbox.lb.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.ConfigFile;
import io.moosicbox.lb.config.ConfigLoader;
import io.moosicbox.lb.config.ConfigPrinter;
import io.moosicbox.lb.config.LbConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The example users copy must stay valid and show every key. */
class ExampleConfigTest {
    static final Path EXAMPLE = Path.of("src/main/dist/conf/lb.example.yaml");

    @Test
    void theExampleValidates() throws Exception {
        assertEquals(List.of(), ConfigFile.read(EXAMPLE).problems());
        LbConfig c = ConfigLoader.load(EXAMPLE, Map.of());
        assertEquals(List.of("api", "solver", "default"), c.clusters().stream().map(x -> x.name()).toList());
        assertTrue(c.tls().enabled());
    }

    @Test
    void theExampleWritesEveryKeyThePrinterKnows() throws Exception {
        String example = Files.readString(EXAMPLE);
        String printed = ConfigPrinter.toYaml(ConfigLoader.load(EXAMPLE, Map.of()));
        for (String line : printed.split("\n")) {
            String key = line.trim().replaceFirst("^- ", "");
            int colon = key.indexOf(':');
            if (colon > 0) {
                String k = key.substring(0, colon);
                assertTrue(example.contains(k + ":") || example.contains(k + "="), "the example does not show " + k);
            }
        }
    }

    @Test
    void checkPrintsTheEffectiveConfigurationAndExitsZero() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"--config", EXAMPLE.toString(), "--check"}, Map.of("BIND_ADDRESS", "127.0.0.1:8088"),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("http: 127.0.0.1:8088"), printed);
        assertTrue(printed.contains("resolve: 30s"), printed);
    }

    @Test
    void aBadFileExitsTwoWithOneLinePerProblem(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path bad = dir.resolve("lb.yaml");
        Files.writeString(bad, "clusters:\n  - name: a\n    backends: [{url: http://x:1, weight: x}]\n    colour: red\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"--check"}, Map.of("LB_CONFIG", bad.toString()),
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertEquals(List.of(
                "moosicbox_lb: configuration error: " + bad + ":3: clusters[0].backends[0].weight: \"x\": expected a whole number",
                "moosicbox_lb: configuration error: " + bad + ":4: clusters[0].colour: unknown key; expected one of name, hosts, paths, "
                        + "algorithm, health_check, backends, retries, queue_size, queue_timeout, slow_start, hash_key, "
                        + "eject_after, eject_time, eject_on_5xx, check_before_traffic"),
                err.toString(StandardCharsets.UTF_8).lines().toList());
    }
}
