package org.openkcm.keystore.audit;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One audited call. The compact constructor normalises and checks every field, so whatever reaches
 * the log is well formed: text fields are trimmed, blank optional fields become null, and no field
 * holds a control character (a log line is one line).
 *
 * @param time when the call was made (required)
 * @param caller who made it: the OS user of a shell session, the certificate subject of a gRPC
 *        client (required, at most {@value #MAX_CALLER_LENGTH} characters)
 * @param channel how it arrived, a lower-case token such as {@code shell} or {@code grpc}
 * @param operation what it was, a token such as {@code get}, {@code delete}, {@code rewrap}
 *        (lower-cased)
 * @param keyId the key it concerned, as {@code KeyId.toString()} prints it, or null
 * @param outcome how it ended, a lower-case token: {@code ok}, {@code error} or {@code denied}
 * @param errorClass the simple name of the failure's class when it failed (e.g.
 *        {@code KeyNotFoundException}), or null
 */
public record AuditRecord(Instant time, String caller, String channel, String operation, String keyId,
        String outcome, String errorClass) {

    public static final int MAX_CALLER_LENGTH = 1024;
    public static final int MAX_TOKEN_LENGTH = 64;
    public static final int MAX_KEY_ID_LENGTH = 512;
    public static final int MAX_ERROR_CLASS_LENGTH = 256;

    /** The outcome of a call that did what was asked. */
    public static final String OK = "ok";
    /** The outcome of a call that failed (errorClass says how). */
    public static final String ERROR = "error";
    /** The outcome of a call refused because the caller was not granted it. */
    public static final String DENIED = "denied";

    private static final Pattern TOKEN = Pattern.compile("[a-z][a-z0-9._-]*");
    private static final Pattern CONTROL = Pattern.compile("\\p{Cntrl}");

    public AuditRecord {
        Objects.requireNonNull(time, "time");
        caller = text("caller", required("caller", caller), MAX_CALLER_LENGTH);
        channel = token("channel", channel);
        operation = token("operation", operation);
        keyId = optional("keyId", keyId, MAX_KEY_ID_LENGTH);
        outcome = token("outcome", outcome);
        errorClass = optional("errorClass", errorClass, MAX_ERROR_CLASS_LENGTH);
    }

    private static String required(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("audit record " + field + " is required");
        }
        return value;
    }

    private static String optional(String field, String value, int maxLength) {
        return value == null || value.isBlank() ? null : text(field, value, maxLength);
    }

    private static String text(String field, String value, int maxLength) {
        String trimmed = value.strip();
        if (trimmed.length() > maxLength) {
            throw new IllegalArgumentException(
                    "audit record " + field + " must be at most " + maxLength + " characters");
        }
        if (CONTROL.matcher(trimmed).find()) {
            throw new IllegalArgumentException("audit record " + field + " must not contain control characters");
        }
        return trimmed;
    }

    private static String token(String field, String value) {
        String normalised = text(field, required(field, value), MAX_TOKEN_LENGTH).toLowerCase(Locale.ROOT);
        if (!TOKEN.matcher(normalised).matches()) {
            throw new IllegalArgumentException("audit record " + field
                    + " must start with a letter and contain only letters, digits, '.', '_' or '-'");
        }
        return normalised;
    }
}
