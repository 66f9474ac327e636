package org.openkcm.keystore.plugins;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.openkcm.keystore.secrets.BoundedRead;

/** Refuses an executable that is missing, not executable, or not the file the configuration pins by SHA-256. */
final class ExecutableCheck {
    /** A plugin executable larger than this (1 GiB) is refused rather than hashed without end. */
    static final long MAX_EXECUTABLE_BYTES = 1L << 30;
    private ExecutableCheck() {
    }

    /** @throws PluginStartException saying what is wrong with the file */
    static void verify(Path executable, String expectedSha256) {
        if (!Files.exists(executable)) {
            throw new PluginStartException("the plugin executable " + executable + " does not exist");
        }
        if (!Files.isRegularFile(executable)) {
            throw new PluginStartException("the plugin executable " + executable + " is not a regular file");
        }
        if (!Files.isExecutable(executable)) {
            throw new PluginStartException("the plugin executable " + executable + " is not executable");
        }
        String actual = sha256(executable);
        if (!actual.equals(expectedSha256)) {
            throw new PluginStartException("the plugin executable " + executable + " has SHA-256 " + actual
                    + ", not the configured plugin.sha256 " + expectedSha256 + "; refused");
        }
    }

    static String sha256(Path file) {
        // Opened only if regular (a FIFO swapped in would hang the host), and hashed up to a cap.
        try (InputStream in = new DigestInputStream(BoundedRead.stream(file, MAX_EXECUTABLE_BYTES, BoundedRead.Links.FOLLOW),
                MessageDigest.getInstance("SHA-256"))) {
            MessageDigest digest = ((DigestInputStream) in).getMessageDigest();
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new PluginStartException("the plugin executable " + file + " cannot be read: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
