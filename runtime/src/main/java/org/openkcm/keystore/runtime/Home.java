package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The distribution folder and its parts: {@code bundle/} (installed at every start),
 * {@code config/} and {@code plugins/} (watched by FileInstall), {@code data/} (owner-only: the
 * framework cache in {@code data/cache}, FileInstall's scratch space, the local KEK file, the
 * {@link HomeLock} of the runtime running on it).
 */
record Home(Path root) {

    /** The system property {@code bin/keystore} sets, and the framework property bundles read. */
    static final String PROPERTY = "openkcm.home";

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    Home {
        root = root.toAbsolutePath().normalize();
    }

    /**
     * The home named by {@value #PROPERTY}, or else the folder above the {@code lib/} folder that
     * holds the launcher's jar.
     */
    static Home locate() {
        String configured = System.getProperty(PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return new Home(Path.of(configured));
        }
        try {
            Path jar = Path.of(Home.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return new Home(jar.getParent().getParent());
        } catch (URISyntaxException | RuntimeException e) {
            return new Home(Path.of(""));
        }
    }

    Path bundles() {
        return root.resolve("bundle");
    }

    Path config() {
        return root.resolve("config");
    }

    Path plugins() {
        return root.resolve("plugins");
    }

    Path data() {
        return root.resolve("data");
    }

    /** The allow-listed folder of secret files that configurations may name (KEK providers' under kek/). */
    Path secrets() {
        return root.resolve("secrets");
    }

    Path cache() {
        return data().resolve("cache");
    }

    Path scratch() {
        return data().resolve("tmp");
    }

    /** @throws IOException if the folder is not a distribution: {@code bundle/} is missing */
    void checkDistribution() throws IOException {
        if (!Files.isDirectory(bundles())) {
            throw new IOException("not an OpenKCM Keystore distribution: " + bundles() + " is missing");
        }
    }

    /**
     * Creates the folders the runtime writes to when they are missing, and makes {@code data/}
     * readable by its owner only (it is where the local KEK file lives).
     *
     * @throws IOException if {@code bundle/} is missing or a folder cannot be created
     */
    void prepare() throws IOException {
        checkDistribution();
        Files.createDirectories(config());
        Files.createDirectories(plugins());
        Files.createDirectories(data());
        if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(data(), OWNER_ONLY);
        }
        Files.createDirectories(scratch());
    }
}
