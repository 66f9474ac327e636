package org.openkcm.keystore.kek.pkcs11.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SoftHSM2 for the tests: the token folder is a fresh temporary folder named in the file that
 * {@code SOFTHSM2_CONF} (set by the build for the test JVM) points to, written before the module is
 * first loaded; tokens are created with {@code softhsm2-util}, which the build installs.
 */
public final class SoftHsm {
    public static final Path MODULE = module();
    private static Path tokenDir;

    private SoftHsm() {
    }

    /** A freshly initialised token; returns its slot id. */
    public static synchronized long initToken(String label, String userPin) {
        configure();
        String out = util("--init-token", "--free", "--label", label, "--so-pin", "so-" + userPin, "--pin", userPin);
        Matcher m = Pattern.compile("reassigned to slot (\\d+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("softhsm2-util did not say the token's slot: " + out);
        }
        return Long.parseLong(m.group(1));
    }

    public static void deleteToken(String label) {
        util("--delete-token", "--token", label);
    }

    /** The allow-listed folder of KEK secrets the build sets for the tests, {@code <openkcm.secrets.dir>/kek}. */
    public static Path kekSecrets() {
        try {
            return Files.createDirectories(Path.of(System.getProperty("openkcm.secrets.dir"), "kek"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A PIN in an owner-only file in {@code dir}, as a {@code file:} reference. */
    public static String pinFile(Path dir, String pin) {
        try {
            Path file = dir.resolve("pin-" + System.nanoTime());
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, pin + "\n");
            return "file:" + file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void configure() {
        if (tokenDir != null) {
            return;
        }
        String conf = System.getenv("SOFTHSM2_CONF");
        if (conf == null) {
            throw new IllegalStateException("SOFTHSM2_CONF is not set: run these tests through Maven (surefire sets it)");
        }
        try {
            Path target = Path.of(conf).toAbsolutePath().getParent();
            Files.createDirectories(target);
            tokenDir = Files.createTempDirectory(target, "tokens-");
            Files.writeString(Path.of(conf), "directories.tokendir = " + tokenDir + "\nobjectstore.backend = file\n"
                    + "log.level = ERROR\nslots.removable = false\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String util(String... args) {
        List<String> command = new ArrayList<>(List.of("softhsm2-util"));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("softhsm2-util " + String.join(" ", args) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("softhsm2-util is not installed (the build installs Debian's softhsm2)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static Path module() {
        String env = System.getenv("OPENKCM_SOFTHSM_MODULE");
        for (String candidate : new String[] {env, "/usr/lib/softhsm/libsofthsm2.so",
                "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"}) {
            if (candidate != null && Files.isRegularFile(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        throw new IllegalStateException("libsofthsm2.so not found: the build installs Debian's softhsm2 package"
                + " (src/test/sh/ensure-softhsm.sh); or set OPENKCM_SOFTHSM_MODULE");
    }
}
