package org.openkcm.keystore.secrets;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The allow-list of places a configuration may name a secret from, set by the operator in one
 * place: the framework (or system) properties {@value #ENV_PREFIX} and {@value #DIR}, never the
 * configuration that names the secret.
 * <ul>
 * <li>{@code env:NAME} only for a variable whose name starts with the prefix (default
 * {@value #DEFAULT_ENV_PREFIX});</li>
 * <li>{@code file:/path} only for a file inside the secrets folder (default
 * {@code ${openkcm.home}/secrets}), the path taken as written with no {@code ..} and no symbolic
 * link on the way from the folder to the file, so a link cannot lead out of it.</li>
 * </ul>
 * KEK sources and credentials are kept apart: a KEK provider's secret must be a variable
 * {@code <prefix>KEK_…} or a file under {@code <folder>/kek/}, and a backend credential must not,
 * so no source a KEK provider reads can be sent as a token or a password.
 * <p>
 * The allow-list is always on: a property left unset takes its default, so an embedding that sets
 * neither (a plain OSGi framework) still confines secrets, to variables named
 * {@value #DEFAULT_ENV_PREFIX}… and, with {@code openkcm.home} set, files under
 * {@code ${openkcm.home}/secrets} (Karaf: {@code ${karaf.base}/secrets}); without a home and
 * {@value #DIR} no file may be named at all. {@link #unconfined()} exists for code that parses a reference outside a framework
 * (tests, benchmarks), never for a component.
 */
public final class SecretPolicy {
    /** The property that sets the environment variable prefix. */
    public static final String ENV_PREFIX = "openkcm.secrets.env.prefix";
    /** The property that sets the secrets folder. */
    public static final String DIR = "openkcm.secrets.dir";
    public static final String DEFAULT_ENV_PREFIX = "OPENKCM_SECRET_";
    /** The sub-prefix and the sub-folder reserved for KEK providers. */
    public static final String KEK_PART = "KEK_";
    public static final String KEK_FOLDER = "kek";

    /** Karaf's installation folder, the home under Karaf. */
    static final String KARAF_BASE = "karaf.base";

    private static final SecretPolicy UNCONFINED = new SecretPolicy(null, null, null);

    private final String envPrefix;
    private final Path folder;
    /** {@code ${openkcm.home}/data}: the local KEK file, the rings and the journal; never a secret source. */
    private final Path dataFolder;

    private SecretPolicy(String envPrefix, Path folder, Path dataFolder) {
        this.envPrefix = envPrefix;
        this.folder = folder;
        this.dataFolder = dataFolder;
    }

    /** Every well-formed reference is accepted (no allow-list set). */
    public static SecretPolicy unconfined() {
        return UNCONFINED;
    }

    /**
     * @param envPrefix the prefix every variable name must start with
     * @param folder the absolute secrets folder, or null when no file may be named
     */
    public static SecretPolicy confined(String envPrefix, Path folder) {
        return confined(envPrefix, folder, null);
    }

    /**
     * @param home the runtime's home, whose {@code data} folder (the local KEK file {@code local.kek},
     *        the sealed rings, the journal) is never a secret source even inside the secrets folder;
     *        null if unknown
     */
    public static SecretPolicy confined(String envPrefix, Path folder, Path home) {
        if (envPrefix == null || !envPrefix.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException(ENV_PREFIX + " must be the start of a variable name (letters, digits,"
                    + " '_'), not '" + envPrefix + "'");
        }
        if (folder != null && !folder.isAbsolute()) {
            throw new IllegalArgumentException(DIR + " must be an absolute folder, not '" + folder + "'");
        }
        return new SecretPolicy(envPrefix, folder == null ? null : folder.normalize(),
                home == null ? null : home.toAbsolutePath().normalize().resolve("data"));
    }

    /**
     * The policy the operator set through {@value #ENV_PREFIX} and {@value #DIR}, each defaulted when
     * unset: the prefix to {@value #DEFAULT_ENV_PREFIX}, the folder to {@code ${openkcm.home}/secrets}
     * (under Karaf, without {@code openkcm.home}: {@code ${karaf.base}/secrets}; with neither, no folder,
     * so no file may be named). Never unconfined.
     *
     * @param properties the framework properties ({@code BundleContext::getProperty})
     */
    public static SecretPolicy from(UnaryOperator<String> properties) {
        String prefix = blankToNull(properties.apply(ENV_PREFIX));
        String dir = blankToNull(properties.apply(DIR));
        String home = blankToNull(properties.apply("openkcm.home"));
        if (home == null) {
            home = blankToNull(properties.apply(KARAF_BASE)); // Karaf sets no openkcm.home: its base is the home
        }
        Path folder = null;
        if (dir != null) {
            folder = Path.of(dir);
        } else if (home != null) {
            folder = Path.of(home, "secrets").toAbsolutePath();
        }
        return confined(prefix == null ? DEFAULT_ENV_PREFIX : prefix, folder, home == null ? null : Path.of(home));
    }

    public boolean isConfined() {
        return envPrefix != null;
    }

    /** The folder secrets files must be in, if any. */
    public Optional<Path> folder() {
        return Optional.ofNullable(folder);
    }

    /**
     * @throws IllegalArgumentException naming the property, the reference and the rule it breaks
     */
    void checkVariable(String property, String reference, String name, SecretUse use) {
        if (!isConfined()) {
            return;
        }
        String kekPrefix = envPrefix + KEK_PART;
        if (!name.startsWith(envPrefix)) {
            throw refused(property, reference, "an environment variable must be named " + envPrefix + "…"
                    + (use == SecretUse.KEK ? " (" + kekPrefix + "… for a KEK provider)" : "")
                    + ", the prefix the operator allowed (" + ENV_PREFIX + ")");
        }
        if (use == SecretUse.KEK && !name.startsWith(kekPrefix)) {
            throw refused(property, reference, "a KEK provider's secret must be a variable named " + kekPrefix
                    + "…, kept apart from backend credentials");
        }
        if (use == SecretUse.CREDENTIAL && name.startsWith(kekPrefix)) {
            throw refused(property, reference, "variables named " + kekPrefix + "… are KEK providers' secrets and"
                    + " are never sent to a server as a token or a password");
        }
    }

    /** See {@link #checkVariable}; the file need not exist yet, but the folders on the way must not be links. */
    void checkFile(String property, String reference, Path file, SecretUse use) {
        if (!isConfined()) {
            return;
        }
        if (folder == null) {
            throw refused(property, reference, "no secrets folder is set (" + DIR + ", or openkcm.home for "
                    + "${openkcm.home}/secrets), so no file may be named");
        }
        Path normal = file.normalize();
        if (!normal.equals(file) || !normal.startsWith(folder) || normal.equals(folder)) {
            throw refused(property, reference, "a file must be inside the secrets folder " + folder + " (" + DIR + ")"
                    + ", named without '..'");
        }
        if (dataFolder != null && normal.startsWith(dataFolder)) {
            throw refused(property, reference, "files under " + dataFolder + " (the local KEK file, the sealed KEK"
                    + " rings, the journal) are never a secret source");
        }
        Path kekFolder = folder.resolve(KEK_FOLDER);
        if (use == SecretUse.KEK && !normal.startsWith(kekFolder)) {
            throw refused(property, reference, "a KEK provider's secret file must be under " + kekFolder
                    + ", kept apart from backend credentials");
        }
        if (use == SecretUse.CREDENTIAL && normal.startsWith(kekFolder)) {
            throw refused(property, reference, "files under " + kekFolder + " are KEK providers' secrets and are"
                    + " never sent to a server as a token or a password");
        }
        // No link from the folder down: one would lead the read out of the folder (or into kek/).
        Path step = folder;
        for (Path part : folder.relativize(normal)) {
            step = step.resolve(part);
            if (Files.isSymbolicLink(step)) {
                throw refused(property, reference, step + " is a symbolic link; inside the secrets folder files are"
                        + " named as they are, so that none leads out of it");
            }
        }
    }

    private IllegalArgumentException refused(String property, String reference, String rule) {
        return new IllegalArgumentException(property + " = '" + reference + "' is not an allowed secret source: " + rule
                + "; allowed: " + allowed());
    }

    /** The allowed sources, for messages: {@code env:PREFIX…} and {@code file:FOLDER/…}, or that no file may be named. */
    String allowed() {
        return "env:" + envPrefix + "…" + (folder == null ? " (no file: no secrets folder)" : " or file:" + folder + "/…");
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.strip();
    }

    @Override
    public String toString() {
        return isConfined() ? "secrets from env " + envPrefix + "* and folder " + folder : "secrets unconfined";
    }
}
