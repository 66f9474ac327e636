package org.openkcm.keystore.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.Function;

/**
 * Where a credential (the database password) is read from: an environment variable
 * ({@code env:NAME}) or a file ({@code file:/absolute/path}). A configuration never holds the
 * credential itself, so a {@code .cfg} printed by the shell shows only the reference.
 * <p>
 * Messages and {@link #toString()} name the reference, never the value read through it.
 * <p>
 * The same rules as the OpenBao backend's token reference ({@code keystore-openbao}'s
 * {@code SecretSource}, of which this is a copy: backends share nothing but the api, so the class
 * cannot be imported from there).
 */
final class SecretSource {
    private static final String ENV = "env:";
    private static final String FILE = "file:";
    /** A credential larger than this is not a credential: refuse rather than read a wrong file. */
    private static final long MAX_FILE_BYTES = 16 * 1024;

    private final String property;
    private final String reference;
    private final Function<String, String> environment;

    private SecretSource(String property, String reference, Function<String, String> environment) {
        this.property = property;
        this.reference = reference;
        this.environment = environment;
    }

    /**
     * @param property the configuration property, named in messages
     * @param reference {@code env:NAME} or {@code file:/path}
     * @throws IllegalArgumentException if the reference is missing or is anything else, such as a
     *         plain secret value (which is never echoed back)
     */
    static SecretSource parse(String property, String reference, Function<String, String> environment) {
        String text = reference == null ? "" : reference.trim();
        if (text.isEmpty()) {
            throw new IllegalArgumentException(property + " is required: give a reference such as "
                    + "'env:PG_PASSWORD' or 'file:/run/secrets/pg-password'");
        }
        if (text.startsWith(ENV)) {
            String name = text.substring(ENV.length());
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new IllegalArgumentException(property + " names an invalid environment variable: '" + text
                        + "' (expected env:NAME with letters, digits and '_')");
            }
            return new SecretSource(property, text, environment);
        }
        if (text.startsWith(FILE)) {
            String path = text.substring(FILE.length());
            if (path.isEmpty() || !Paths.get(path).isAbsolute()) {
                throw new IllegalArgumentException(property + " must name an absolute file: '" + text
                        + "' (expected file:/absolute/path)");
            }
            return new SecretSource(property, text, environment);
        }
        // Never echo the value: it is most likely the secret itself.
        throw new IllegalArgumentException(property + " must be a reference, 'env:NAME' or 'file:/absolute/path';"
                + " a plain value is refused so that no secret is kept in the configuration"
                + " (the value given was not echoed)");
    }

    /**
     * Reads the credential now; files and variables are read again at each call, so a rotated
     * credential is picked up.
     *
     * @throws IllegalStateException naming the reference if the variable is unset or the file unreadable
     */
    String read() {
        String value;
        if (reference.startsWith(ENV)) {
            String name = reference.substring(ENV.length());
            value = environment.apply(name);
            if (value == null) {
                throw new IllegalStateException(property + ": environment variable " + name + " is not set");
            }
        } else {
            Path path = Paths.get(reference.substring(FILE.length()));
            try {
                // A FIFO or a device would block the reader or never end: only a regular file (links followed) is read.
                if (!Files.readAttributes(path, BasicFileAttributes.class).isRegularFile()) {
                    throw new IllegalStateException(property + ": " + path + " is not a regular file");
                }
                // Capped while reading too: the file may grow after the check.
                byte[] bytes;
                try (InputStream in = Files.newInputStream(path)) {
                    bytes = in.readNBytes((int) MAX_FILE_BYTES + 1);
                }
                if (bytes.length > MAX_FILE_BYTES) {
                    throw new IllegalStateException(property + ": " + path + " is larger than " + MAX_FILE_BYTES
                            + " bytes; it does not hold a credential");
                }
                value = new String(bytes, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException(property + ": cannot read " + path + " (" + e.getClass().getSimpleName()
                        + ")");
            }
        }
        value = value.trim();
        if (value.isEmpty()) {
            throw new IllegalStateException(property + ": " + reference + " is empty");
        }
        return value;
    }

    String property() {
        return property;
    }

    @Override
    public String toString() {
        return reference;
    }
}
