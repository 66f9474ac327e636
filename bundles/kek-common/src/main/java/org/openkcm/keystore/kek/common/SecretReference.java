package org.openkcm.keystore.kek.common;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Set;
import java.util.function.UnaryOperator;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.secrets.SecretPolicy;
import org.openkcm.keystore.secrets.SecretSource;
import org.openkcm.keystore.secrets.SecretUse;

/**
 * A KEK provider's secret named by reference, never by value: {@code env:NAME} (an environment
 * variable) or {@code file:/path} (an owner-only regular file of at most
 * {@value SecretSource#MAX_FILE_BYTES} bytes, not a link, e.g. a mounted secret; one trailing
 * newline is dropped). The form and the operator's allow-list are those of the shared
 * {@link SecretSource}, as a {@link SecretUse#KEK} source: never one a backend may send as a
 * token or a password. Messages name the reference, never what it holds.
 */
public final class SecretReference {
    private final String field;
    private final String reference;
    private final SecretSource source;

    private SecretReference(String field, String reference, SecretSource source) {
        this.field = field;
        this.reference = reference;
        this.source = source;
    }

    /** {@link #parse(String, String, SecretPolicy)} with no allow-list. */
    public static SecretReference parse(String field, String reference) {
        return parse(field, reference, SecretPolicy.unconfined());
    }

    /**
     * Checks the form of the reference, and that the policy allows it for a KEK provider, now; the
     * secret itself is read by {@link #read}.
     *
     * @throws InvalidInputException naming the field, the reference (never a value) and the rule
     */
    public static SecretReference parse(String field, String reference, SecretPolicy policy) {
        String r = reference == null ? "" : reference.strip();
        SecretSource source;
        try {
            source = SecretSource.parse(field, r, name -> null, policy, SecretUse.KEK);
        } catch (IllegalArgumentException e) {
            if (!r.startsWith("env:") && !r.startsWith("file:")) {
                throw new InvalidInputException(field, "must be env:NAME (an environment variable) or"
                        + " file:/absolute/path (an owner-only file); the secret itself never goes into the configuration");
            }
            throw new InvalidInputException(field, e.getMessage());
        }
        return new SecretReference(field, r, source);
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
        Path file = source.file();
        byte[] bytes = null;
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (mode.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                throw new PolicyRefusedException(null, field + ": the file " + file + " is readable or writable by group or"
                        + " others; a secret file must be owner-only: chmod 600 " + file);
            }
            bytes = source.readBytes();
            String text = new String(bytes, StandardCharsets.UTF_8);
            if (text.endsWith("\n")) {
                text = text.substring(0, text.length() - 1);
            }
            if (text.isEmpty()) {
                throw new UnavailableException(field + ": the file " + file + " is empty");
            }
            return text.toCharArray();
        } catch (IllegalStateException e) {
            if (e.getMessage().startsWith(field + ": cannot read ")) {
                throw new UnavailableException(e.getMessage(), null, e);
            }
            // Refused by the shared reader: not regular, a link, too large, outside the allow-list.
            throw new PolicyRefusedException(null, e.getMessage());
        } catch (IOException e) {
            throw new UnavailableException(field + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")", null, e);
        } catch (UnsupportedOperationException e) {
            throw new UnavailableException(field + ": the file system of " + file + " has no POSIX permissions", null, e);
        } finally {
            if (bytes != null) {
                Arrays.fill(bytes, (byte) 0);
            }
        }
    }

    @Override
    public String toString() {
        return reference;
    }
}
