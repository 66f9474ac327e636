package org.openkcm.keystore.kek.common;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;

/**
 * A credential named by reference, never by value: {@code env:NAME} (an environment variable) or
 * {@code file:/path} (an owner-only file, e.g. a mounted secret; one trailing newline is dropped).
 * Messages name the reference, never what it holds.
 */
public final class SecretReference {
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private final String field;
    private final String reference;

    private SecretReference(String field, String reference) {
        this.field = field;
        this.reference = reference;
    }

    /** Checks the form of the reference now; the secret itself is read by {@link #read}. */
    public static SecretReference parse(String field, String reference) {
        String r = reference == null ? "" : reference.strip();
        if (r.startsWith("env:") && ENV_NAME.matcher(r.substring(4)).matches()) {
            return new SecretReference(field, r);
        }
        if (r.startsWith("file:") && r.length() > 5 && Path.of(r.substring(5)).isAbsolute()) {
            return new SecretReference(field, r);
        }
        throw new InvalidInputException(field, "must be env:NAME (an environment variable) or file:/absolute/path"
                + " (an owner-only file); the secret itself never goes into the configuration");
    }

    /** The secret's characters; the caller wipes them. */
    public char[] read(UnaryOperator<String> environment) {
        if (reference.startsWith("env:")) {
            String name = reference.substring(4);
            String value = environment.apply(name);
            if (value == null || value.isEmpty()) {
                throw new UnavailableException(field + ": environment variable " + name + " is not set");
            }
            return value.toCharArray();
        }
        Path file = Path.of(reference.substring(5));
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (mode.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                throw new PolicyRefusedException(null, field + ": the file " + file + " is readable or writable by group or"
                        + " others; a secret file must be owner-only: chmod 600 " + file);
            }
            byte[] bytes = Files.readAllBytes(file);
            try {
                String text = new String(bytes, StandardCharsets.UTF_8);
                if (text.endsWith("\n")) {
                    text = text.substring(0, text.length() - 1);
                }
                if (text.isEmpty()) {
                    throw new UnavailableException(field + ": the file " + file + " is empty");
                }
                return text.toCharArray();
            } finally {
                java.util.Arrays.fill(bytes, (byte) 0);
            }
        } catch (IOException e) {
            throw new UnavailableException(field + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")", null, e);
        } catch (UnsupportedOperationException e) {
            throw new UnavailableException(field + ": the file system of " + file + " has no POSIX permissions", null, e);
        }
    }

    @Override
    public String toString() {
        return reference;
    }
}
