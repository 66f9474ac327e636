package org.openkcm.keystore.config;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads config.yaml into the configurations it declares, or refuses it whole.
 * <p>
 * The document is composed into YAML nodes (never constructed into objects, so no tag can
 * instantiate a class) and walked here, so that every error names the line and the key path.
 * The model:
 * <ul>
 * <li>The top level is a mapping whose keys are PIDs.</li>
 * <li>A PID that maps to properties (scalars or lists), to {@code {}} or to nothing is a
 * singleton configuration: {@code getConfiguration(pid, "?")}.</li>
 * <li>A PID that maps to mappings is a factory PID; each key is an instance name, each value
 * that instance's properties (or nothing): {@code getFactoryConfiguration(pid, name, "?")}.</li>
 * <li>A PID that maps to both properties and mappings is refused, as is a property whose value
 * is a mapping, a null, a list of lists or of mixed types.</li>
 * </ul>
 * Scalars follow a strict subset of YAML: {@code true}/{@code false} are booleans (not
 * {@code yes}/{@code no}/{@code on}/{@code off}); decimal integers without a leading zero are
 * {@code Integer}, or {@code Long} beyond its range; decimals with a point or an exponent are
 * {@code Double}; {@code null}, {@code ~} and nothing are null; everything else, dates included,
 * is a string. A list becomes an array of one type ({@code String[]}, {@code Integer[]},
 * {@code Long[]}, {@code Double[]}, {@code Boolean[]}); an empty list is {@code String[0]}.
 */
final class YamlReader {

    private static final int MAX_CODE_POINTS = 1 << 20;

    private YamlReader() {
    }

    /**
     * @param text   the document
     * @param source the file it came from, as errors name it
     * @return the configurations it declares, in document order
     * @throws ConfigException for the first rule the document breaks
     */
    static Map<ConfigKey, Map<String, Object>> parse(String text, String source) throws ConfigException {
        Node root = compose(text, source, "");
        Map<ConfigKey, Map<String, Object>> result = new LinkedHashMap<>();
        if (root == null || isNull(root)) {
            return result;
        }
        if (!(root instanceof MappingNode top) || !Tag.MAP.equals(root.getTag())) {
            throw error(source, "", root, "the top level must be a mapping of PIDs to properties or to named instances");
        }
        Map<String, Node> pids = new HashMap<>();
        for (NodeTuple entry : top.getValue()) {
            String pid = key(source, "", entry.getKeyNode());
            if (pids.putIfAbsent(pid, entry.getKeyNode()) != null) {
                throw error(source, pid, entry.getKeyNode(), "duplicate key");
            }
            if (!Names.isPid(pid)) {
                throw error(source, pid, entry.getKeyNode(), Names.PID_RULE);
            }
            if (pid.equals(Names.OWN_PID)) {
                throw error(source, pid, entry.getKeyNode(), "this bundle's own configuration is not read from config.yaml: "
                        + "set it in a .cfg file or through framework properties");
            }
            readPid(source, pid, entry.getValueNode(), result);
        }
        return result;
    }

    /**
     * Reads one value the way config.yaml reads a property's value: {@code L4} is a string,
     * {@code [L2, L3]} a list, {@code 10} an integer, {@code "10"} a string.
     *
     * @param text    the value's text
     * @param source  where it came from ({@code environment})
     * @param keyPath what it is the value of (the variable's name)
     */
    static Object parseValue(String text, String source, String keyPath) throws ConfigException {
        Node node = compose(text, source, keyPath);
        if (node == null) {
            throw new ConfigException(source, keyPath, 0, "a value is required");
        }
        return value(source, keyPath, node, false);
    }

    private static void readPid(String source, String pid, Node node, Map<ConfigKey, Map<String, Object>> result)
            throws ConfigException {
        if (isNull(node)) {
            result.put(ConfigKey.singleton(pid), Map.of());
            return;
        }
        if (!(node instanceof MappingNode map) || !Tag.MAP.equals(node.getTag())) {
            throw error(source, pid, node, "a PID maps to properties (a singleton configuration) or to named instances "
                    + "(a factory PID), not to a " + kind(node));
        }
        int mappings = 0;
        for (NodeTuple t : map.getValue()) {
            if (t.getValueNode() instanceof MappingNode) {
                mappings++;
            }
        }
        if (mappings == 0) {
            result.put(ConfigKey.singleton(pid), properties(source, pid, map));
            return;
        }
        Map<String, Node> names = new HashMap<>();
        for (NodeTuple t : map.getValue()) {
            String name = key(source, pid, t.getKeyNode());
            String path = pid + "/" + name;
            if (names.putIfAbsent(name, t.getKeyNode()) != null) {
                throw error(source, path, t.getKeyNode(), "duplicate key");
            }
            Node value = t.getValueNode();
            if (isNull(value)) {
                checkInstanceName(source, path, name, t.getKeyNode());
                result.put(ConfigKey.factory(pid, name), Map.of());
            } else if (value instanceof MappingNode instance && Tag.MAP.equals(value.getTag())) {
                checkInstanceName(source, path, name, t.getKeyNode());
                result.put(ConfigKey.factory(pid, name), properties(source, path, instance));
            } else {
                throw error(source, path, value, "mixes named instances (mappings) and properties (values) under one PID: "
                        + "a factory PID holds only instances, a singleton PID only properties");
            }
        }
    }

    private static void checkInstanceName(String source, String path, String name, Node at) throws ConfigException {
        if (!Names.isInstanceName(name)) {
            throw error(source, path, at, Names.INSTANCE_RULE);
        }
    }

    private static Map<String, Object> properties(String source, String path, MappingNode map) throws ConfigException {
        Map<String, Object> props = new LinkedHashMap<>();
        Map<String, String> seen = new HashMap<>();
        for (NodeTuple t : map.getValue()) {
            String name = key(source, path, t.getKeyNode());
            String propertyPath = path + "/" + name;
            String earlier = seen.putIfAbsent(name.toLowerCase(Locale.ROOT), name);
            if (earlier != null) {
                throw error(source, propertyPath, t.getKeyNode(), earlier.equals(name) ? "duplicate key"
                        : "duplicate of '" + earlier + "': ConfigAdmin property names ignore case");
            }
            if (!Names.isPropertyName(name)) {
                throw error(source, propertyPath, t.getKeyNode(), Names.PROPERTY_RULE);
            }
            if (Names.isReserved(name)) {
                throw error(source, propertyPath, t.getKeyNode(), "reserved: ConfigAdmin, FileInstall or this bundle sets it");
            }
            Object value = value(source, propertyPath, t.getValueNode(), true);
            if (Names.isSecretName(name) && !Names.isSecretReference(value)) {
                throw error(source, propertyPath, t.getValueNode(), Names.SECRET_RULE);
            }
            props.put(name, value);
        }
        return Collections.unmodifiableMap(props);
    }

    private static Object value(String source, String path, Node node, boolean lines) throws ConfigException {
        if (node instanceof ScalarNode scalar) {
            return scalar(source, path, scalar, lines);
        }
        if (node instanceof SequenceNode seq && Tag.SEQ.equals(node.getTag())) {
            List<Object> items = new ArrayList<>();
            int i = 0;
            for (Node item : seq.getValue()) {
                String itemPath = path + "[" + i++ + "]";
                if (!(item instanceof ScalarNode s)) {
                    throw error(source, itemPath, item, lines, "a list holds scalars (strings, numbers, booleans), not a "
                            + kind(item));
                }
                items.add(scalar(source, itemPath, s, lines));
            }
            return array(source, path, node, lines, items);
        }
        throw error(source, path, node, lines, "a property's value is a scalar or a list of scalars, not a " + kind(node));
    }

    private static Object scalar(String source, String path, ScalarNode node, boolean lines) throws ConfigException {
        Tag tag = node.getTag();
        String text = node.getValue();
        if (Tag.NULL.equals(tag)) {
            throw error(source, path, node, lines, "a value is required (remove the key to leave the property unset)");
        }
        if (Tag.STR.equals(tag)) {
            return text;
        }
        if (Tag.BOOL.equals(tag)) {
            if ("true".equalsIgnoreCase(text)) {
                return Boolean.TRUE;
            }
            if ("false".equalsIgnoreCase(text)) {
                return Boolean.FALSE;
            }
            throw error(source, path, node, lines, "not a boolean: only true and false are");
        }
        if (Tag.INT.equals(tag)) {
            BigInteger n;
            try {
                n = new BigInteger(text.startsWith("+") ? text.substring(1) : text);
            } catch (NumberFormatException e) {
                throw error(source, path, node, lines, "not a decimal integer");
            }
            if (n.bitLength() < 32) {
                return n.intValue();
            }
            if (n.bitLength() < 64) {
                return n.longValue();
            }
            throw error(source, path, node, lines, "integer out of range (a 64-bit signed integer at most)");
        }
        if (Tag.FLOAT.equals(tag)) {
            double d;
            try {
                d = Double.parseDouble(text);
            } catch (NumberFormatException e) {
                throw error(source, path, node, lines, "not a decimal number");
            }
            if (Double.isInfinite(d) || Double.isNaN(d)) {
                throw error(source, path, node, lines, "not a finite number");
            }
            return d;
        }
        throw error(source, path, node, lines, "unsupported YAML tag " + tag
                + ": a value is a string, a number, a boolean or a list of them");
    }

    private static Object array(String source, String path, Node node, boolean lines, List<Object> items)
            throws ConfigException {
        if (items.isEmpty()) {
            return new String[0];
        }
        boolean strings = true;
        boolean booleans = true;
        boolean integers = true;
        boolean longs = false;
        boolean doubles = true;
        for (Object o : items) {
            strings &= o instanceof String;
            booleans &= o instanceof Boolean;
            integers &= o instanceof Integer || o instanceof Long;
            longs |= o instanceof Long;
            doubles &= o instanceof Double;
        }
        if (strings) {
            return items.toArray(new String[0]);
        }
        if (booleans) {
            return items.toArray(new Boolean[0]);
        }
        if (integers && longs) {
            Long[] a = new Long[items.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = ((Number) items.get(i)).longValue();
            }
            return a;
        }
        if (integers) {
            return items.toArray(new Integer[0]);
        }
        if (doubles) {
            return items.toArray(new Double[0]);
        }
        throw error(source, path, node, lines, "a list's items must all be of one type (quote numbers meant as strings)");
    }

    private static String key(String source, String path, Node node) throws ConfigException {
        if (!(node instanceof ScalarNode scalar) || Tag.NULL.equals(node.getTag())) {
            throw error(source, path, node, "a key must be a plain string, not a " + kind(node));
        }
        return scalar.getValue();
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
    }

    private static String kind(Node node) {
        if (node instanceof MappingNode) {
            return "mapping";
        }
        if (node instanceof SequenceNode) {
            return "list";
        }
        if (isNull(node)) {
            return "null";
        }
        return "scalar";
    }

    private static Node compose(String text, String source, String keyPath) throws ConfigException {
        LoaderOptions options = new LoaderOptions();
        options.setMaxAliasesForCollections(50);
        options.setNestingDepthLimit(20);
        options.setCodePointLimit(MAX_CODE_POINTS);
        options.setAllowRecursiveKeys(false);
        try {
            Composer composer = new Composer(new ParserImpl(new StreamReader(text), options), new StrictResolver(), options);
            return composer.getSingleNode();
        } catch (MarkedYAMLException e) {
            // Context and problem only: the snippet would quote the document, and with it, maybe a value.
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            StringBuilder rule = new StringBuilder("not valid YAML: ");
            if (e.getContext() != null) {
                rule.append(e.getContext()).append(", ");
            }
            rule.append(e.getProblem());
            if (mark != null) {
                rule.append(" (column ").append(mark.getColumn() + 1).append(')');
            }
            throw new ConfigException(source, keyPath, mark != null ? mark.getLine() + 1 : 0, rule.toString());
        } catch (YAMLException e) {
            throw new ConfigException(source, keyPath, 0, "not valid YAML: " + e.getClass().getSimpleName());
        }
    }

    private static ConfigException error(String source, String path, Node node, String rule) {
        return error(source, path, node, true, rule);
    }

    private static ConfigException error(String source, String path, Node node, boolean lines, String rule) {
        int line = lines && node != null && node.getStartMark() != null ? node.getStartMark().getLine() + 1 : 0;
        return new ConfigException(source, path, line, rule);
    }

    /** YAML's core scalars, strictly: no yes/no/on/off booleans, no octal, no timestamps, no merge keys. */
    private static final class StrictResolver extends Resolver {
        private static final Pattern BOOLEAN = Pattern.compile("^(?:true|True|TRUE|false|False|FALSE)$");
        private static final Pattern INTEGER = Pattern.compile("^[-+]?(?:0|[1-9][0-9]*)$");
        private static final Pattern DECIMAL = Pattern.compile(
                "^[-+]?(?:[0-9]+\\.[0-9]*(?:[eE][-+]?[0-9]+)?|\\.[0-9]+(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$");
        private static final Pattern NULL = Pattern.compile("^(?:~|null|Null|NULL)$");

        @Override
        protected void addImplicitResolvers() {
            addImplicitResolver(Tag.BOOL, BOOLEAN, "tTfF");
            addImplicitResolver(Tag.INT, INTEGER, "-+0123456789");
            addImplicitResolver(Tag.FLOAT, DECIMAL, "-+0123456789.");
            addImplicitResolver(Tag.NULL, NULL, "~nN");
            addImplicitResolver(Tag.NULL, Resolver.EMPTY, null);
        }
    }
}
