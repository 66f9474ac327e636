package org.openkcm.keystore.core.kek;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.secrets.OwnerOnlyFile;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The KEK ring in a local key file ({@link KekRingText} form, owner-only). Runs without any
 * configuration: the file is then {@code local.kek} in the {@link KekFolder} beside the known-KEK
 * record ({@code ${openkcm.home}/data/kek/}, else {@code ${karaf.data}/openkcm/kek/}), created
 * with a fresh 256-bit KEK (mode 0600) on first start. With neither property and no configured
 * path the component refuses to start: the bundle's data area, which an uninstall deletes, is
 * never used, and nothing is sealed under a KEK kept there. A file left in the data area by an
 * earlier version is moved to the folder. {@link KekFile#read} says which files are refused; a
 * refused file stops the component from starting.
 * <p>
 * A fresh KEK is never created for a KEK id the {@link KnownKeks} record knows: a missing file is
 * then an error (its path changed, or it was deleted), since a new key would make every record
 * sealed under the old one unreadable.
 * <p>
 * To rotate, add a version to the file ({@code <next version>:<base64 of 32 random bytes>}, or
 * {@link KekFile#addVersion}) and update this configuration (any attribute, e.g. {@code reload})
 * so the file is read again; the new version then seals and every version still opens.
 */
@Component(name = FileKekProvider.PID, service = KekProvider.class, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = FileKekProvider.Config.class)
public final class FileKekProvider extends RingKekProvider {
    public static final String PID = "org.openkcm.keystore.kek.file";
    /** Where earlier versions kept the key file, in the bundle's data area: only ever moved out. */
    public static final String DEFAULT_FILE = "kek/local.kek";
    /** Where the key file lives, under {@code openkcm.home}, when no path is configured. */
    public static final String HOME_FILE = "data/kek/local.kek";
    /** The key file's name in the {@link KekFolder}. */
    static final String NAME = "local.kek";

    @ObjectClassDefinition(name = "OpenKCM Keystore KEK: local key file",
            description = "A key-encryption-key ring in a local, owner-only file (mode 0600). "
                    + "The highest version seals; every version present opens.")
    public @interface Config {
        @AttributeDefinition(name = "KEK id",
                description = "Recorded in every sealed record and lifecycle MAC; keep it stable while records are wrapped under it.")
        String kek_id() default "local";

        @AttributeDefinition(name = "Key file",
                description = "Path of the KEK ring file. Empty: ${openkcm.home}/" + HOME_FILE + ", else (Karaf) "
                        + "${karaf.data}/openkcm/kek/" + NAME + "; with neither property set, a path is required "
                        + "(the bundle's data area, which an uninstall deletes, is never used).")
        String path() default "";

        @AttributeDefinition(name = "Create when absent",
                description = "Create the file with one fresh 256-bit KEK (mode 0600) if it does not exist.")
        boolean create() default true;

        @AttributeDefinition(name = "Data-key wrap",
                description = "How new data keys are wrapped: 'gcm' (AES-256-GCM, 61 bytes, the default) or 'kw' "
                        + "(AES Key Wrap, RFC 3394, 40 bytes, as before the GCM wrap). Both always unwrap. Set 'kw' "
                        + "until every runtime that shares the backends is upgraded: an older runtime cannot open a "
                        + "GCM-wrapped record.")
        String wrap() default "gcm";

        @AttributeDefinition(name = "Reload marker",
                description = "Change this value to make the provider read the file again (after a KEK version was added or removed).")
        String reload() default "";
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    /** The record of known KEKs: a KEK id it knows never gets a fresh key. */
    @Reference
    private KnownKeksComponent knownKeksComponent;
    private KnownKeks known = KnownKeks.inMemory();

    private Path path;
    private KekRing.Wrap wrap = KekRing.Wrap.GCM;

    public FileKekProvider() {
    }

    /** A provider outside a framework (tests, benchmarks): loads, creating the file if asked to. */
    public static FileKekProvider open(Path path, String kekId, boolean create) {
        return open(path, kekId, create, KnownKeks.inMemory());
    }

    /** {@link #open(Path, String, boolean)} with the record of known KEKs. */
    public static FileKekProvider open(Path path, String kekId, boolean create, KnownKeks known) {
        return open(path, kekId, create, known, null);
    }

    /** {@link #open(Path, String, boolean, KnownKeks)} logging to {@code logger} (tests read what it logs). */
    static FileKekProvider open(Path path, String kekId, boolean create, KnownKeks known, Logger logger) {
        return open(path, kekId, create, known, logger, KekRing.Wrap.GCM);
    }

    /** {@link #open(Path, String, boolean, KnownKeks, Logger)} wrapping new data keys as {@code wrap} says. */
    static FileKekProvider open(Path path, String kekId, boolean create, KnownKeks known, Logger logger,
            KekRing.Wrap wrap) {
        FileKekProvider provider = new FileKekProvider();
        provider.known = known;
        provider.logger = logger;
        provider.wrap = wrap;
        provider.load(path, kekId, create);
        return provider;
    }

    @Activate
    void activate(BundleContext context, Config config) {
        known = knownKeksComponent.known();
        configure(context, config);
    }

    @Modified
    void modified(BundleContext context, Config config) {
        configure(context, config);
    }

    /** Reads the configuration's wrap form, then the file (a bad wrap form refuses before anything loads). */
    void configure(BundleContext context, Config config) {
        KekRing.Wrap form = KekRing.Wrap.parse(config.wrap());
        Path file = resolve(context, config);
        wrap = form;
        load(file, config.kek_id(), config.create());
    }

    /** How this provider wraps new data keys. */
    public KekRing.Wrap wrapForm() {
        return wrap;
    }

    @Deactivate
    void deactivate() {
        unload();
    }

    /** The key file this provider reads. */
    public Path path() {
        return path;
    }

    /** Reads the file again, e.g. after a version was added. */
    public void reload() {
        load(path, kekId(), false);
    }

    void load(Path file, String kekId, boolean create) {
        KekIds.check(kekId);
        if (!OwnerOnlyFile.isPosix(file)) {
            Logs.warn(logger, "The file system of KEK file {} has no POSIX permissions: owner-only access cannot be checked",
                    file);
        }
        if (create && !Files.exists(file, LinkOption.NOFOLLOW_LINKS) && known.knows(kekId)) {
            throw new UnavailableException("the KEK file " + file + " does not exist, but KEK '" + kekId + "' was used "
                    + "before (versions " + known.recordedVersions(kekId) + " in " + known.file() + "): restore the file "
                    + "from its backup, or set 'path' of " + PID + " to where it is; a fresh KEK would leave every record "
                    + "sealed under the old one unreadable, so none is created");
        }
        if (create && KekFile.createIfAbsent(file, RandomSource.secure())) {
            // Loud, because a changed openkcm.home moves the key file and the record together: a
            // fresh KEK here may be the first start, or a home whose keys were sealed elsewhere.
            Logs.warn(logger, "Created a fresh KEK file {} (mode 0600) with a new 256-bit KEK '{}' version 1: no KEK "
                    + "file and no known-KEK record of '{}' were found there (record: {}); records sealed under an "
                    + "earlier KEK (e.g. under a previous openkcm.home) will not open under this one: if keys were "
                    + "stored before, stop the runtime and restore that home's data/kek (local.kek and known-keks) "
                    + "instead", file, kekId, kekId, known.file() == null ? "in memory" : known.file());
        }
        // A refusal propagates: Declarative Services reports the failed activation with this message
        // (the runtime prints it once on the console); logging it here too would say it twice.
        Map<Integer, byte[]> keys = KekFile.read(file);
        try {
            KekRing ring = KekRing.of(kekId, keys, wrap);
            install(ring);
            this.path = file;
            Logs.info(logger, "KEK provider '{}' loaded versions {} from {}; version {} seals, wrapping data keys with {}",
                    kekId, ring.versions(), file, ring.currentVersion(), wrap == KekRing.Wrap.GCM ? "AES-GCM" : "AES-KW");
        } finally {
            keys.values().forEach(Bytes::wipe);
        }
    }

    private Path resolve(BundleContext context, Config config) {
        return resolve(config.path(), KekFolder.of(context::getProperty), context.getDataFile(DEFAULT_FILE), logger);
    }

    /**
     * The key file: the configured path; else {@value #NAME} in the KEK folder (an earlier
     * version's file in the data area moved there first); else refused.
     *
     * @param folder the {@link KekFolder}, or null if the framework names none
     * @param data the file in the bundle's data area, or null if the framework has none
     * @throws InvalidInputException if no path is configured and there is no folder
     */
    static Path resolve(String configured, Path folder, File data, Logger logger) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured.trim());
        }
        if (folder == null) {
            throw KekFolder.noFolder(PID, "KEK file", NAME);
        }
        Path file = folder.resolve(NAME);
        if (data != null) {
            moveToHome(data.toPath(), file, logger);
        }
        return file;
    }
    /**
     * The default KEK file of earlier versions lived in the bundle's data area: if it is there and
     * the home has none, it is moved (owner-only, written and forced before the old one goes), so
     * the records it sealed keep opening.
     */
    private static void moveToHome(Path old, Path file, Logger logger) {
        if (!Files.exists(old, LinkOption.NOFOLLOW_LINKS) || Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Map<Integer, byte[]> keys = KekFile.read(old);
        try {
            KekFile.create(file, keys);
        } finally {
            keys.values().forEach(Bytes::wipe);
        }
        try {
            Files.delete(old);
        } catch (java.io.IOException e) {
            Logs.warn(logger, "The old KEK file {} could not be deleted after it was moved to {}: {}", old, file,
                    e.getMessage());
        }
        Logs.info(logger, "Moved the KEK file from the core bundle's data area ({}) to {}", old, file);
    }
}
