package org.openkcm.keystore.secrets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Where a secret is read from: an environment variable ({@code env:NAME}) or a file
 * ({@code file:/absolute/path}), never the secret itself, so a configuration printed by the shell
 * shows only the reference. Under a confined {@link SecretPolicy} the reference must name an
 * allow-listed source fit for its {@link SecretUse}. A file must be regular and at most
 * {@value #MAX_FILE_BYTES} bytes.
 * <p>
 * Messages and {@link #toString()} name the reference, never the value read through it.
 */
public final class SecretSource {
    private static final String ENV = "env:";
    private static final String FILE = "file:";
    /** A credential larger than this is not a credential: refuse rather than read a wrong file. */
    public static final int MAX_FILE_BYTES = 16 * 1024;

    private final String property;
    private final String reference;
    private final Function<String, String> environment;
    private final SecretPolicy policy;
    private final SecretUse use;

    private SecretSource(String property, String reference, Function<String, String> environment, SecretPolicy policy,
            SecretUse use) {
        this.property = property;
        this.reference = reference;
        this.environment = environment;
        this.policy = policy;
        this.use = use;
    }

    /** {@link #parse(String, String, Function, SecretPolicy, SecretUse)} for a credential, unconfined. */
    public static SecretSource parse(String property, String reference, Function<String, String> environment) {
        return parse(property, reference, environment, SecretPolicy.unconfined(), SecretUse.CREDENTIAL);
    }

    /**
     * @param property the configuration property, named in messages
     * @param reference {@code env:NAME} or {@code file:/path}
     * @param environment where variables are looked up ({@code System::getenv})
     * @throws IllegalArgumentException if the reference is missing, is anything else (such as a plain
     *         secret value, which is never echoed back), or names a source the policy does not allow
     */
    public static SecretSource parse(String property, String reference, Function<String, String> environment,
            SecretPolicy policy, SecretUse use) {
        String text = reference == null ? "" : reference.trim();
        if (text.isEmpty()) {
            throw new IllegalArgumentException(property + " is required: give a reference such as "
                    + "'env:" + SecretPolicy.DEFAULT_ENV_PREFIX + "…' or 'file:/…/secrets/…'");
        }
        if (text.startsWith(ENV)) {
            String name = text.substring(ENV.length());
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]{0,127}")) {
                throw new IllegalArgumentException(property + " names an invalid environment variable: '" + text
                        + "' (expected env:NAME with letters, digits and '_')");
            }
            policy.checkVariable(property, text, name, use);
            return new SecretSource(property, text, environment, policy, use);
        }
        if (text.startsWith(FILE)) {
            String path = text.substring(FILE.length());
            if (path.isEmpty() || !Path.of(path).isAbsolute()) {
                throw new IllegalArgumentException(property + " must name an absolute file: '" + text
                        + "' (expected file:/absolute/path)");
            }
            policy.checkFile(property, text, Path.of(path), use);
            return new SecretSource(property, text, environment, policy, use);
        }
        // Never echo the value: it is most likely the secret itself.
        throw new IllegalArgumentException(property + " must be a reference, 'env:NAME' or 'file:/absolute/path';"
                + " a plain value is refused so that no secret is kept in the configuration"
                + " (the value given was not echoed)");
    }

    /** The file this reference names, or null for a variable. */
    public Path file() {
        return reference.startsWith(FILE) ? Path.of(reference.substring(FILE.length())) : null;
    }

    /**
     * Reads the secret now, trimmed; files and variables are read again at each call, so a rotated
     * secret is picked up.
     *
     * @throws IllegalStateException naming the reference if the variable is unset, the file
     *         unreadable or refused, or the value empty
     */
    public String read() {
        byte[] bytes = readBytes();
        try {
            String value = new String(bytes, StandardCharsets.UTF_8).trim();
            if (value.isEmpty()) {
                throw new IllegalStateException(property + ": " + reference + " is empty");
            }
            return value;
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /**
     * The raw bytes the reference names (not trimmed); the caller wipes them.
     *
     * @throws IllegalStateException naming the reference if the variable is unset or the file
     *         unreadable or refused
     */
    public byte[] readBytes() {
        if (reference.startsWith(ENV)) {
            String name = reference.substring(ENV.length());
            String value = environment.apply(name);
            if (value == null) {
                throw new IllegalStateException(property + ": environment variable " + name + " is not set");
            }
            return value.getBytes(StandardCharsets.UTF_8);
        }
        Path path = file();
        // Checked again: a link may have been put inside the folder since the configuration was read.
        try {
            policy.checkFile(property, reference, path, use);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage());
        }
        // A confined file is opened without following a link; an unconfined one may be a mounted link.
        BoundedRead.Links links = policy.isConfined() ? BoundedRead.Links.REFUSE : BoundedRead.Links.FOLLOW;
        try {
            return BoundedRead.bytes(path, MAX_FILE_BYTES, links);
        } catch (FileRefusedException e) {
            throw new IllegalStateException(property + ": " + e.getMessage()
                    + (e.getMessage().contains("larger than") ? "; it does not hold a credential" : ""));
        } catch (IOException e) {
            throw new IllegalStateException(property + ": cannot read " + path + " (" + e.getClass().getSimpleName()
                    + ")");
        }
    }

    public String property() {
        return property;
    }

    @Override
    public String toString() {
        return reference;
    }
}
