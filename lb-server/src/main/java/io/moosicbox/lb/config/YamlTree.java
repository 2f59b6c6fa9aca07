package io.moosicbox.lb.config;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.parser.Parser;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * A YAML document as a tree that remembers the line of every key and value. Data binding stops at
 * the first problem and cannot name a line for a value that is valid YAML but a bad setting; this
 * tree lets {@link ConfigFile} report them all.
 *
 * <p>It is built from SnakeYAML's composed nodes rather than a streaming parser because only the
 * composer resolves aliases: Jackson's YAML parser handed {@code *be} over as the string "be", so
 * {@code backends: *be} became the backend http://be:80, and it drops the anchors of scalars.
 */
final class YamlTree {
    private static final String MERGE = "<<";

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

    interface ProblemSink {
        void problem(int line, String message);
    }

    private final ProblemSink sink;
    /** An alias is the very node of its anchor: convert it once, and notice one that contains itself. */
    private final Map<org.yaml.snakeyaml.nodes.Node, Node> done = new IdentityHashMap<>();
    private final Map<org.yaml.snakeyaml.nodes.Node, Boolean> reading = new IdentityHashMap<>();

    private YamlTree(ProblemSink sink) {
        this.sink = sink;
    }

    /**
     * @param sink where duplicate keys are reported, with their line
     * @return the root, or null for an empty document
     * @throws SyntaxError when the text is not YAML
     */
    static Node parse(Reader in, ProblemSink sink) throws IOException, SyntaxError {
        LoaderOptions options = new LoaderOptions();
        Parser parser = new ParserImpl(new StreamReader(in), options);
        Composer composer = new Composer(parser, new Resolver(), options);
        try {
            if (!composer.checkNode()) {
                return null;
            }
            org.yaml.snakeyaml.nodes.Node first = composer.getNode();
            if (composer.checkNode()) {
                int line = parser.checkEvent(Event.ID.DocumentStart) ? parser.peekEvent().getStartMark().getLine() + 1 : 0;
                if (!isNull(composer.getNode())) {
                    // Only the first document would be used: a file of several (as kubectl takes) lost
                    // every later cluster without a word.
                    sink.problem(line, "a second YAML document (after ---): the configuration is one document; put every cluster in the first");
                }
            }
            return isNull(first) ? null : new YamlTree(sink).convert(first);
        } catch (MarkedYAMLException e) {
            throw new SyntaxError(e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1,
                    e.getProblem() == null ? e.getMessage() : e.getProblem());
        } catch (YAMLException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new SyntaxError(0, e.getMessage());
        }
    }

    private static boolean isNull(org.yaml.snakeyaml.nodes.Node n) {
        return n instanceof ScalarNode s && Tag.NULL.equals(s.getTag());
    }

    private static int line(org.yaml.snakeyaml.nodes.Node n) {
        return n.getStartMark() == null ? 0 : n.getStartMark().getLine() + 1;
    }

    private Node convert(org.yaml.snakeyaml.nodes.Node n) {
        Node known = done.get(n);
        if (known != null) {
            return known;
        }
        int line = line(n);
        if (reading.put(n, Boolean.TRUE) != null) {
            sink.problem(line, "an alias inside the very anchor it names; expected a value that does not contain itself");
            return new Scalar(line, null);
        }
        Node result = switch (n) {
            case MappingNode m -> convertMap(m, line);
            case SequenceNode s -> new ListNode(line, s.getValue().stream().map(this::convert).toList());
            case ScalarNode s -> new Scalar(line, isNull(s) ? null : s.getValue());
            default -> new Scalar(line, null);
        };
        reading.remove(n);
        done.put(n, result);
        return result;
    }

    private MapNode convertMap(MappingNode m, int line) {
        Map<String, Field> fields = new LinkedHashMap<>();
        List<Field> merges = new ArrayList<>();
        for (NodeTuple t : m.getValue()) {
            int keyLine = line(t.getKeyNode());
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                sink.problem(keyLine, "expected a plain key such as name:");
                continue;
            }
            Node value = convert(t.getValueNode());
            if (MERGE.equals(k.getValue()) && Tag.MERGE.equals(k.getTag())) {
                merges.add(new Field(MERGE, keyLine, value));
            } else if (fields.containsKey(k.getValue())) {
                sink.problem(keyLine, k.getValue() + ": written twice (also on line " + fields.get(k.getValue()).keyLine() + ")");
            } else {
                fields.put(k.getValue(), new Field(k.getValue(), keyLine, value));
            }
        }
        // "<<: *defaults" (the YAML merge key) brings in the keys this mapping does not write itself.
        for (Field merge : merges) {
            List<Node> sources = merge.value() instanceof ListNode l ? l.items() : List.of(merge.value());
            for (Node source : sources) {
                if (source instanceof MapNode from) {
                    from.fields().values().forEach(f -> fields.putIfAbsent(f.key(), f));
                } else {
                    sink.problem(merge.keyLine(), MERGE + ": expected a mapping to merge, such as *defaults");
                }
            }
        }
        return new MapNode(line, fields);
    }
}
