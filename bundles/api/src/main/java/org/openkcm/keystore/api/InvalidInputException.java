package org.openkcm.keystore.api;

/**
 * Input broke a rule and was refused before it reached any backend; nothing was changed.
 * The message names the field and the rule, never the offending value (it may be secret).
 */
public class InvalidInputException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    private final String field;
    private final String rule;

    public InvalidInputException(String field, String rule) {
        this(field, rule, null);
    }

    public InvalidInputException(String field, String rule, KeyId keyId) {
        super("invalid " + field + subject(keyId) + ": " + rule, keyId, null);
        this.field = field;
        this.rule = rule;
    }

    /** The name of the field that broke the rule, e.g. {@code "keyId.name"} or {@code "tags"}. */
    public String field() {
        return field;
    }

    /** The rule that was broken, in words. */
    public String rule() {
        return rule;
    }
}
