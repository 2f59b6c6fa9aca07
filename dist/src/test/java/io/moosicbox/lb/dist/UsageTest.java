package io.moosicbox.lb.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code --help} promises every variable, and the README's table documents every variable: the two lists must agree. */
class UsageTest {
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

    private static Set<String> names(Pattern p, String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }
}
