package org.openkcm.keystore.core.kek;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
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
import org.openkcm.keystore.secrets.BoundedRead;
import org.openkcm.keystore.secrets.FileRefusedException;

/**
 * A KEK ring in a local file, in {@link KekRingText} form. The file must be readable by its owner
 * only: one readable or writable by group or others is refused. It is created with mode 0600 (its
 * folder 0700) when absent, and a new version is added by writing a 0600 temporary file beside it
 * and moving it over the old one atomically.
 * <p>
 * On a file system without POSIX permissions (Windows) the permission check cannot be made; the
 * caller is told so through {@link #isPosix(Path)} and logs it.
 */
public final class KekFile {
    private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    private static final Set<PosixFilePermission> OWNER_ONLY_DIR =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
    private static final Set<PosixFilePermission> LOOSE = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final int MAX_FILE_BYTES = 64 * 1024;

    private KekFile() {
    }

    /** True if the file system of the path enforces POSIX permissions, so they can be checked. */
    public static boolean isPosix(Path path) {
        Path existing = path.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing != null && Files.getFileAttributeView(existing, PosixFileAttributeView.class) != null;
    }

    /**
     * Reads the ring, after checking the file is owner-only.
     *
     * @return version to key bytes; the caller wipes the arrays
     * @throws PolicyRefusedException if the file is readable or writable by group or others
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
            Path absolute = path.toAbsolutePath();
            Path folder = absolute.getParent();
            if (folder == null || !isPosix(absolute)) {
                text = readPlain(absolute, afterOpen);
            } else {
                text = readChecked(path, folder, absolute.getFileName(), afterOpen);
            }
            return KekRingText.parse(text, "file " + path);
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
     * Reads the file through a handle on its folder ({@link SecureDirectoryStream}, openat and
     * fstatat on Linux): the folder's owner and mode are those of the folder opened; the file is
     * looked up and opened without following a symbolic link; its owner and mode are checked; and
     * the file read is the one checked: its (device, inode) after the read must be those checked,
     * and only the folder's owner can replace it, since the folder is not group- or world-writable.
     */
    private static byte[] readChecked(Path path, Path folder, Path name, Runnable afterOpen) throws IOException {
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(folder)) {
            if (!(stream instanceof SecureDirectoryStream<Path> dir)) {
                return readPlain(path.toAbsolutePath(), afterOpen);
            }
            PosixFileAttributes folderAttributes = dir.getFileAttributeView(PosixFileAttributeView.class)
                    .readAttributes();
            checkFolder(path, folder, folderAttributes);
            PosixFileAttributeView fileView = dir.getFileAttributeView(name, PosixFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            PosixFileAttributes checked = fileView.readAttributes();
            checkFile(path, checked);
            try (SeekableByteChannel channel = dir.newByteChannel(name,
                    Set.<java.nio.file.OpenOption>of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
                afterOpen.run();
                byte[] text = readAll(path, channel);
                Object after = fileView.readAttributes().fileKey();
                if (checked.fileKey() == null || !checked.fileKey().equals(after)) {
                    Bytes.wipe(text);
                    throw new PolicyRefusedException(null, "the KEK file " + path + " was replaced while it was read; "
                            + "nothing was loaded from it");
                }
                return text;
            }
        }
    }

    /** Without POSIX permissions (Windows): no owner or mode to check; still no symbolic link followed. */
    private static byte[] readPlain(Path path, Runnable afterOpen) throws IOException {
        if (Files.isSymbolicLink(path)) {
            throw new PolicyRefusedException(null, "the KEK file " + path + " is a symbolic link; a KEK file must be "
                    + "the file itself, opened without following links");
        }
        try (SeekableByteChannel channel = Files.newByteChannel(path,
                Set.<java.nio.file.OpenOption>of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            afterOpen.run();
            return readAll(path, channel);
        }
    }

    /** The shared bounded reader on the channel checked above: capped while reading too, for a file that grows. */
    private static byte[] readAll(Path path, SeekableByteChannel channel) throws IOException {
        try {
            return BoundedRead.bytes(channel, path, MAX_FILE_BYTES);
        } catch (FileRefusedException e) {
            throw new InvalidInputException("KEK ring in file " + path, "is larger than " + MAX_FILE_BYTES + " bytes");
        }
    }

    /** The folder must not be group- or world-writable, and must belong to the process user or root. */
    private static void checkFolder(Path path, Path folder, PosixFileAttributes attributes) {
        Set<PosixFilePermission> p = attributes.permissions();
        if (p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new PolicyRefusedException(null, "the folder " + folder + " of the KEK file " + path + " is writable by "
                    + (p.contains(PosixFilePermission.GROUP_WRITE) && p.contains(PosixFilePermission.OTHERS_WRITE)
                            ? "group and others" : p.contains(PosixFilePermission.GROUP_WRITE) ? "group" : "others")
                    + " (mode " + octal(p) + "), so another user could replace the KEK file: chmod go-w " + folder);
        }
        UserPrincipal owner = attributes.owner();
        UserPrincipal me = ProcessUser.principal(folder);
        if (me != null && !owner.equals(me) && !"root".equals(owner.getName())) {
            throw new PolicyRefusedException(null, "the folder " + folder + " of the KEK file " + path + " belongs to "
                    + owner.getName() + ", not to this process's user " + me.getName() + " (or root), so "
                    + owner.getName() + " could replace the KEK file");
        }
    }

    /** A regular file, not a symbolic link, owned by the process user, owner-only. */
    private static void checkFile(Path path, PosixFileAttributes attributes) {
        if (attributes.isSymbolicLink()) {
            throw new PolicyRefusedException(null, "the KEK file " + path + " is a symbolic link; a KEK file must be "
                    + "the file itself, opened without following links");
        }
        if (!attributes.isRegularFile()) {
            throw new PolicyRefusedException(null, "the KEK file " + path + " is not a regular file");
        }
        UserPrincipal me = ProcessUser.principal(path.toAbsolutePath().getParent());
        if (me != null && !attributes.owner().equals(me)) {
            throw new PolicyRefusedException(null, "the KEK file " + path + " belongs to " + attributes.owner().getName()
                    + ", not to this process's user " + me.getName() + ": chown " + me.getName() + " " + path);
        }
        refuseLoose(path, attributes.permissions());
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

    private static void refuseLoose(Path path, Set<PosixFilePermission> permissions) {
        Set<PosixFilePermission> loose = EnumSet.noneOf(PosixFilePermission.class);
        loose.addAll(permissions);
        loose.retainAll(LOOSE);
        if (!loose.isEmpty()) {
            throw new PolicyRefusedException(null, "the KEK file " + path + " is " + looseness(loose) + " (mode "
                    + octal(permissions) + "); a KEK file must be owner-only: chmod 600 " + path);
        }
    }

    /** "readable by others", "readable and writable by group and others", ... */
    static String looseness(Set<PosixFilePermission> loose) {
        boolean read = loose.contains(PosixFilePermission.GROUP_READ) || loose.contains(PosixFilePermission.OTHERS_READ);
        boolean write = loose.contains(PosixFilePermission.GROUP_WRITE)
                || loose.contains(PosixFilePermission.OTHERS_WRITE);
        boolean group = loose.stream().anyMatch(p -> p.name().startsWith("GROUP_"));
        boolean others = loose.stream().anyMatch(p -> p.name().startsWith("OTHERS_"));
        String what = read && write ? "readable and writable" : read ? "readable" : write ? "writable" : "accessible";
        return what + " by " + (group && others ? "group and others" : group ? "group" : "others");
    }

    /** The permissions as an octal mode, {@code 0644}. */
    static String octal(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) {
            mode |= 1 << (8 - p.ordinal()); // OWNER_READ is ordinal 0: 0400
        }
        return String.format("0%03o", mode);
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
        return isPosix(near) ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
                : new FileAttribute<?>[0];
    }
}
