package org.openkcm.keystore.config;

/**
 * A refused input: it names where (the file, or {@code environment}, and the line where the YAML
 * parser gives one), what (the key path, or the variable) and the rule that was broken. It
 * never carries a value, so it can be logged and printed as it is.
 */
final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final String keyPath;
    private final int line;
    private final String rule;

    /**
     * @param source  the file, or {@code environment}
     * @param keyPath the key path in config.yaml ({@code pid/instance/property}) or the variable's
     *                name; empty for the whole document
     * @param line    the 1-based line, or 0 where there is none
     * @param rule    the rule that was broken, in words
     */
    ConfigException(String source, String keyPath, int line, String rule) {
        super(format(source, keyPath, line, rule));
        this.source = source;
        this.keyPath = keyPath;
        this.line = line;
        this.rule = rule;
    }

    String source() {
        return source;
    }

    String keyPath() {
        return keyPath;
    }

    int line() {
        return line;
    }

    String rule() {
        return rule;
    }

    private static String format(String source, String keyPath, int line, String rule) {
        StringBuilder b = new StringBuilder(source);
        if (line > 0) {
            b.append(':').append(line);
        }
        b.append(": ");
        if (keyPath != null && !keyPath.isEmpty()) {
            b.append(keyPath).append(": ");
        }
        return b.append(rule).toString();
    }
}
