package org.openkcm.keystore.core.kek;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.LinkOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.secrets.FileRefusedException;
import org.openkcm.keystore.secrets.OwnerOnlyFile;
import org.openkcm.keystore.secrets.UnsafeFileException;

/**
 * A KEK ring in a local file, in {@link KekRingText} form. It is read through {@link OwnerOnlyFile}
 * (no symbolic link, the process user's own owner-only file in a folder no one else may write, the
 * bytes of the file checked); a refusal is a {@link PolicyRefusedException} naming "the KEK file".
 * It is created with mode 0600 (its folder 0700) when absent, and a new version is added by writing
 * a 0600 temporary file beside it and moving it over the old one atomically.
 * <p>
 * On a file system without POSIX permissions (Windows) the permission check cannot be made; the
 * caller is told so through {@link OwnerOnlyFile#isPosix(Path)} and logs it.
 */
public final class KekFile {
    private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    private static final Set<PosixFilePermission> OWNER_ONLY_DIR =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
    private static final int MAX_FILE_BYTES = 64 * 1024;

    private KekFile() {
    }

    /**
     * Reads the ring, after checking the file as {@link OwnerOnlyFile} does.
     *
     * @return version to key bytes; the caller wipes the arrays
     * @throws PolicyRefusedException if the file, or its folder, is refused (a symbolic link, another
     *         owner, readable or writable by group or others, replaced while read, not a regular file)
     * @throws InvalidInputException if the file holds no ring or a malformed one
     * @throws UnavailableException if the file is missing or cannot be read
     */
    public static Map<Integer, byte[]> read(Path path) {
        return read(path, () -> { });
    }

    /**
     * {@link #read(Path)}, with {@code afterOpen} run once the file is open and checked, before its
     * content is read (the test seam for a file replaced meanwhile).
     */
    static Map<Integer, byte[]> read(Path path, Runnable afterOpen) {
        byte[] text = null;
        try {
            text = OwnerOnlyFile.read(path, "KEK file", MAX_FILE_BYTES, afterOpen);
            return KekRingText.parse(text, "file " + path);
        } catch (UnsafeFileException e) {
            throw new PolicyRefusedException(null, e.getMessage());
        } catch (FileRefusedException e) {
            if (e.oversized()) {
                throw new InvalidInputException("KEK ring in file " + path, "is larger than " + MAX_FILE_BYTES + " bytes");
            }
            throw new PolicyRefusedException(null, "the KEK file " + path + " is not a regular file");
        } catch (NoSuchFileException e) {
            throw new UnavailableException("the KEK file " + path + " does not exist", null, e);
        } catch (AccessDeniedException e) {
            throw new UnavailableException("the KEK file " + path + " cannot be read by this process", null, e);
        } catch (IOException e) {
            throw new UnavailableException("the KEK file " + path + " cannot be read (" + e.getClass().getSimpleName()
                    + ")", null, e);
        } finally {
            Bytes.wipe(text);
        }
    }

    /**
     * Creates the file with one fresh 256-bit KEK as version 1, owner-only, if it does not exist.
     *
     * @return true if this call created it, false if it already existed
     */
    public static boolean createIfAbsent(Path path, RandomSource random) {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        byte[] kek = new byte[KekRing.KEK_BYTES];
        byte[] text = null;
        try {
            random.nextBytes(kek);
            text = KekRingText.format(Map.of(1, kek));
            Path parent = path.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                Files.createDirectories(parent, ownerOnly(parent, OWNER_ONLY_DIR));
            }
            write(path, text, StandardOpenOption.CREATE_NEW);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false; // created concurrently: read what is there
        } catch (IOException e) {
            throw new UnavailableException("the KEK file " + path + " cannot be created ("
                    + e.getClass().getSimpleName() + ")", null, e);
        } finally {
            Bytes.wipe(kek, text);
        }
    }

    /**
     * Creates the file, owner-only in an owner-only folder, with the given ring.
     *
     * @throws UnavailableException if it exists already or cannot be written
     */
    public static void create(Path path, Map<Integer, byte[]> keys) {
        byte[] text = KekRingText.format(keys);
        try {
            Path parent = path.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                Files.createDirectories(parent, ownerOnly(parent, OWNER_ONLY_DIR));
            }
            write(path, text, StandardOpenOption.CREATE_NEW);
        } catch (IOException e) {
            throw new UnavailableException("the KEK file " + path + " cannot be created ("
                    + e.getClass().getSimpleName() + ")", null, e);
        } finally {
            Bytes.wipe(text);
        }
    }

    /**
     * Adds a fresh 256-bit KEK as the next version (which then seals), replacing the file atomically.
     *
     * @return the new version
     */
    public static int addVersion(Path path, RandomSource random) {
        Map<Integer, byte[]> keys = read(path);
        byte[] kek = new byte[KekRing.KEK_BYTES];
        byte[] text = null;
        Path tmp = null;
        try {
            int version = java.util.Collections.max(keys.keySet()) + 1;
            random.nextBytes(kek);
            keys.put(version, kek.clone());
            text = KekRingText.format(keys);
            Path dir = path.toAbsolutePath().getParent();
            tmp = Files.createTempFile(dir, ".kek-", ".tmp", ownerOnly(dir, OWNER_ONLY_FILE));
            write(tmp, text, StandardOpenOption.TRUNCATE_EXISTING);
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
            return version;
        } catch (IOException e) {
            throw new UnavailableException("a KEK version cannot be added to " + path + " ("
                    + e.getClass().getSimpleName() + ")", null, e);
        } finally {
            keys.values().forEach(Bytes::wipe);
            Bytes.wipe(kek, text);
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temporary file is owner-only
                }
            }
        }
    }

    private static void write(Path path, byte[] text, StandardOpenOption mode) throws IOException {
        Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.WRITE, mode);
        try (SeekableByteChannel ch = Files.newByteChannel(path, options, ownerOnly(path, OWNER_ONLY_FILE))) {
            ByteBuffer buffer = ByteBuffer.wrap(text);
            while (buffer.hasRemaining()) {
                ch.write(buffer);
            }
            if (ch instanceof java.nio.channels.FileChannel fc) {
                fc.force(true);
            }
        }
    }

    private static FileAttribute<?>[] ownerOnly(Path near, Set<PosixFilePermission> permissions) {
        return OwnerOnlyFile.isPosix(near) ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
                : new FileAttribute<?>[0];
    }
}
