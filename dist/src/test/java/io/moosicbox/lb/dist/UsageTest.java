package io.moosicbox.lb.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.moosicbox.lb.config.ConfigFile;
import io.moosicbox.lb.config.ConfigLoader;
import io.moosicbox.lb.config.ConfigPrinter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code --help} promises every variable, and the README's table documents every variable: the two lists must agree,
 * with each other and with the variables and file keys the code reads.
 */
class UsageTest {
    /** Upper-case string literals of the configuration code that are no variables: log levels, signals. */
    private static final Set<String> NOT_VARIABLES = Set.of("ERROR", "WARN", "INFO", "HUP", "INT", "TERM", "SIGHUP", "SIGINT", "SIGTERM", "URL");

    @Test
    void helpAndTheReadmeNameTheSameVariables() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        int start = readme.indexOf("### Environment variables");
        int end = readme.indexOf("\n### ", start + 1);
        assertTrue(start >= 0 && end > start, "the README's variable table is gone");
        Set<String> documented = names(Pattern.compile("(?m)^\\| `([A-Z][A-Z0-9_]+)`"), readme.substring(start, end));

        String usage;
        try (InputStream in = Main.class.getResourceAsStream("usage.txt")) {
            usage = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Set<String> helped = names(Pattern.compile("(?m)^  ([A-Z][A-Z0-9_]+) "), usage);

        assertTrue(documented.size() > 40, "the README's table was read: " + documented);
        assertEquals(documented, helped, "README table vs --help");
    }

    /** A default the README's table gives as one value is the one --help gives in brackets. */
    @Test
    void helpAndTheReadmeGiveTheSameDefaults() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        int start = readme.indexOf("### Environment variables");
        int end = readme.indexOf("\n### ", start + 1);
        Map<String, String> documented = new java.util.TreeMap<>();
        Matcher row = Pattern.compile("(?m)^\\| `([A-Z][A-Z0-9_]+)` \\| .* \\| `([^`|]+)` \\|$").matcher(readme.substring(start, end));
        while (row.find()) {
            documented.put(row.group(1), row.group(2));
        }
        assertTrue(documented.size() > 30, "the README's defaults were read: " + documented);

        String usage;
        try (InputStream in = Main.class.getResourceAsStream("usage.txt")) {
            usage = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        // Each variable's text runs to the next variable or a blank line; its default is the last [...] of it.
        Map<String, String> helped = new java.util.TreeMap<>();
        Matcher entry = Pattern.compile("(?ms)^  ([A-Z][A-Z0-9_]+) (.*?)(?=^  [A-Z]|^\\s*$)").matcher(usage);
        while (entry.find()) {
            Matcher d = Pattern.compile("\\[([^\\[\\]]*)\\]\\s*$").matcher(entry.group(2));
            if (d.find()) {
                helped.put(entry.group(1), d.group(1));
            }
        }
        Map<String, String> differ = new java.util.TreeMap<>();
        documented.forEach((name, value) -> {
            if (!value.equals(helped.get(name))) {
                differ.put(name, "README " + value + ", --help " + helped.get(name));
            }
        });
        assertEquals(Map.of(), differ, "defaults of the README's table vs --help");
    }

    /**
     * Every variable the configuration code and the launcher name is in the README's table, and every variable of the
     * table is read somewhere: by that code, or by the start script (JAVA_OPTS and its kind).
     */
    @Test
    void theReadmeDocumentsEveryVariableTheCodeReadsAndNoOther() throws IOException {
        Set<String> documented = readmeVariables();
        Set<String> read = new TreeSet<>();
        Pattern literal = Pattern.compile("\"([A-Z][A-Z0-9_]{2,})\"");
        List<Path> sources = new ArrayList<>();
        for (Path dir : List.of(Path.of("..", "lb-server", "src", "main", "java", "io", "moosicbox", "lb", "config"),
                Path.of("src", "main", "java", "io", "moosicbox", "lb", "dist"))) {
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(f -> f.toString().endsWith(".java")).forEach(sources::add);
            }
        }
        assertTrue(sources.size() > 20, "the configuration code was found: " + sources);
        for (Path source : sources) {
            read.addAll(names(literal, Files.readString(source)));
        }
        read.removeAll(NOT_VARIABLES);
        Set<String> undocumented = new TreeSet<>(read);
        undocumented.removeAll(documented);
        assertEquals(Set.of(), undocumented, "variables the code reads that the README's table does not list");

        String script = Files.readString(Path.of("src", "main", "dist", "bin", "moosicbox_lb"));
        Set<String> unread = new TreeSet<>(documented);
        unread.removeAll(read);
        unread.removeIf(v -> script.contains("${" + v) || script.contains("$" + v));
        assertEquals(Set.of(), unread, "variables of the README's table that nothing reads");
    }

    /** The README's table of file keys is the set of keys the file takes: every key --check prints, and no other. */
    @Test
    void theReadmeDocumentsEveryKeyOfTheFileAndNoOther() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int start = readme.indexOf("\n| key | meaning | default |");
        int end = readme.indexOf("\n### ", start);
        assertTrue(start >= 0 && end > start, "the README's table of file keys is gone");
        Set<String> documented = names(Pattern.compile("(?m)^\\| `([a-z0-9_.\\[\\]]+)`"), readme.substring(start, end));
        assertTrue(documented.size() > 40, "the README's table was read: " + documented);

        // The example sets every key (ExampleConfigTest), so --check of it prints every one.
        JsonNode printed = new ObjectMapper(new YAMLFactory()).readTree(
                ConfigPrinter.toYaml(ConfigLoader.load(ExampleConfigTest.EXAMPLE, Map.of())));
        Set<String> keys = new TreeSet<>();
        paths(printed, "", keys);
        // A certificate pair's cert and key are documented with tls.certificates[] itself.
        keys.removeAll(Set.of("tls.certificates[].cert", "tls.certificates[].key"));
        assertTrue(readme.contains("| `tls.certificates[]` | list of `{cert: FILE, key: FILE}`"), "tls.certificates[] names cert and key");
        assertEquals(documented, keys, "README's file keys vs the keys --check prints");

        // And the reader takes each of them: an unknown key is an error naming it.
        for (String key : documented) {
            String yaml = withKey(key);
            List<String> problems = ConfigFile.read("lb.yaml", new java.io.StringReader(yaml)).problems();
            assertEquals(List.of(), problems, key + ":\n" + yaml);
        }
    }

    private static void paths(JsonNode node, String prefix, Set<String> into) {
        if (node.isObject()) {
            node.properties().forEach(e -> paths(e.getValue(), prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), into));
        } else if (node.isArray() && node.size() > 0 && node.get(0).isObject()) {
            into.add(prefix + "[]");
            node.forEach(item -> paths(item, prefix + "[]", into));
        } else {
            into.add(prefix);
        }
    }

    /** A valid file that also gives {@code key} a null value, which means its default: only an unknown key is a problem. */
    private static String withKey(String key) {
        String cluster = "clusters:\n  - name: d\n";
        String[] parts = key.replace("[]", "").split("\\.");
        if (!key.startsWith("clusters[]")) {
            StringBuilder yaml = new StringBuilder(cluster).append("    backends: [127.0.0.1:8001]\n");
            for (int i = 0; i < parts.length; i++) {
                yaml.append("  ".repeat(i)).append(parts[i]).append(":\n");
            }
            return yaml.toString();
        }
        if (key.startsWith("clusters[].backends[].")) {
            String field = parts[2];
            return cluster + "    backends:\n      - url: 127.0.0.1:8001\n" + (field.equals("url") ? "" : "        " + field + ":\n");
        }
        StringBuilder yaml = new StringBuilder(cluster).append("    backends: [127.0.0.1:8001]\n");
        for (int i = 1; i < parts.length; i++) {
            if (!(i == 1 && (parts[1].equals("name") || parts[1].equals("backends")))) {
                yaml.append("  ".repeat(i + 1)).append(parts[i]).append(":\n");
            }
        }
        return yaml.toString();
    }

    private static Set<String> readmeVariables() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        int start = readme.indexOf("### Environment variables");
        int end = readme.indexOf("\n### ", start + 1);
        assertTrue(start >= 0 && end > start, "the README's variable table is gone");
        return names(Pattern.compile("(?m)^\\| `([A-Z][A-Z0-9_]+)`"), readme.substring(start, end));
    }

    private static Set<String> names(Pattern p, String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }
}
