package io.moosicbox.lb.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as a tree that remembers the line of every key and value, read with Jackson's
 * YAML parser. Jackson's data binding stops at the first problem and cannot name a line for a
 * value that is valid YAML but a bad setting; this tree lets {@link ConfigFile} report them all.
 */
final class YamlTree {
    private static final YAMLFactory FACTORY = new YAMLFactory();

    sealed interface Node permits MapNode, ListNode, Scalar {
        int line();
    }

    /** @param keyLine where the key is written, for problems with the key itself */
    record Field(String key, int keyLine, Node value) {}

    record MapNode(int line, Map<String, Field> fields) implements Node {}

    record ListNode(int line, List<Node> items) implements Node {}

    /** @param text null for an empty value or {@code null}; quoted or not, as written */
    record Scalar(int line, String text) implements Node {}

    /** A document that is not YAML at all. */
    static final class SyntaxError extends Exception {
        final int line;

        SyntaxError(int line, String message) {
            super(message);
            this.line = line;
        }
    }

    private YamlTree() {}

    /**
     * @param sink where duplicate keys are reported, with their line
     * @return the root, or null for an empty document
     * @throws SyntaxError when the text is not YAML
     */
    static Node parse(Reader in, ProblemSink sink) throws IOException, SyntaxError {
        try (JsonParser p = FACTORY.createParser(in)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                return null;
            }
            return read(p, sink);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new SyntaxError(at == null ? 0 : at.getLineNr(), e.getOriginalMessage());
        }
    }

    interface ProblemSink {
        void problem(int line, String message);
    }

    private static Node read(JsonParser p, ProblemSink sink) throws IOException {
        int line = p.currentTokenLocation().getLineNr();
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Field> fields = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    int keyLine = p.currentTokenLocation().getLineNr();
                    p.nextToken();
                    Node value = read(p, sink);
                    if (fields.containsKey(key)) {
                        sink.problem(keyLine, key + ": written twice (also on line " + fields.get(key).keyLine() + ")");
                    } else {
                        fields.put(key, new Field(key, keyLine, value));
                    }
                }
                return new MapNode(line, fields);
            }
            case START_ARRAY -> {
                List<Node> items = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    items.add(read(p, sink));
                }
                return new ListNode(line, items);
            }
            case VALUE_NULL -> {
                return new Scalar(line, null);
            }
            default -> {
                return new Scalar(line, p.getText());
            }
        }
    }
}
