package org.openkcm.keystore.secrets;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.Set;

/**
 * Reads a file that holds key material (the core's KEK file, a provider's sealed KEK ring) only if
 * no one but the process user can have put its content there. The file is looked up and opened
 * through a handle on its folder ({@link SecureDirectoryStream}: openat and fstatat on Linux),
 * without following a symbolic link; the folder must not be writable by group or others and must
 * belong to the process user or root; the file must be a regular file of the process user,
 * readable and writable by its owner only; and the bytes returned are those of the file checked:
 * its file key (device, inode) after the read must be the one checked, and since only the folder's
 * owner can replace it, no one else can swap it between check and read. The size cap holds while
 * reading too. (Java has no fstat on an open channel; this is as close as it gets.)
 * <p>
 * Without POSIX permissions (Windows) only the symbolic-link and regular-file checks apply; callers
 * tell the operator so ({@link #isPosix}).
 */
public final class OwnerOnlyFile {
    private static final Set<PosixFilePermission> LOOSE = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final Path PROC_SELF = Path.of("/proc/self");
    private static final Set<OpenOption> READ_NO_FOLLOW = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

    private OwnerOnlyFile() {
    }

    /**
     * @param kind what the file is, in the messages: "KEK file" gives "the KEK file /x is a symbolic link; ..."
     * @return the file's bytes; the caller wipes them
     * @throws java.nio.file.NoSuchFileException if the file or its folder does not exist
     * @throws UnsafeFileException if the file, or its folder, breaks one of the rules above
     * @throws FileRefusedException if it is not a regular file (a FIFO is refused before it is
     *         opened, so no start blocks) or larger than {@code maxBytes}
     */
    public static byte[] read(Path file, String kind, int maxBytes) throws IOException {
        return read(file, kind, maxBytes, () -> { });
    }

    /**
     * {@link #read(Path, String, int)}, with {@code afterOpen} run once the file is checked and
     * open, before its content is read (where a test replaces the file).
     */
    public static byte[] read(Path file, String kind, int maxBytes, Runnable afterOpen) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path folder = absolute.getParent();
        if (folder == null || !isPosix(absolute)) {
            return readWithoutPermissions(file, kind, maxBytes, afterOpen);
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(folder)) {
            if (stream instanceof SecureDirectoryStream<Path> dir) {
                return readThroughFolder(dir, file, folder, kind, maxBytes, afterOpen);
            }
        }
        // A POSIX platform without openat: the same checks by path, then the same file key after the read.
        checkFolder(file, folder, kind, Files.readAttributes(folder, PosixFileAttributes.class));
        PosixFileAttributes checked = Files.readAttributes(absolute, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        checkFile(file, kind, checked);
        try (SeekableByteChannel channel = Files.newByteChannel(absolute, READ_NO_FOLLOW)) {
            afterOpen.run();
            byte[] bytes = BoundedRead.bytes(channel, file, maxBytes);
            requireSameFile(file, kind, checked, Files.readAttributes(absolute, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey(), bytes);
            return bytes;
        }
    }

    private static byte[] readThroughFolder(SecureDirectoryStream<Path> dir, Path file, Path folder, String kind,
            int maxBytes, Runnable afterOpen) throws IOException {
        checkFolder(file, folder, kind, dir.getFileAttributeView(PosixFileAttributeView.class).readAttributes());
        Path name = file.toAbsolutePath().getFileName();
        PosixFileAttributeView view = dir.getFileAttributeView(name, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributes checked = view.readAttributes();
        checkFile(file, kind, checked);
        try (SeekableByteChannel channel = dir.newByteChannel(name, READ_NO_FOLLOW)) {
            afterOpen.run();
            byte[] bytes = BoundedRead.bytes(channel, file, maxBytes);
            requireSameFile(file, kind, checked, view.readAttributes().fileKey(), bytes);
            return bytes;
        }
    }

    /** Without POSIX permissions (Windows): no owner or mode to check; still no symbolic link followed. */
    private static byte[] readWithoutPermissions(Path file, String kind, int maxBytes, Runnable afterOpen)
            throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        checkRegular(file, kind, attributes);
        try (SeekableByteChannel channel = Files.newByteChannel(file, READ_NO_FOLLOW)) {
            afterOpen.run();
            return BoundedRead.bytes(channel, file, maxBytes);
        }
    }

    /** True if the file system of the path (or of its nearest existing parent) has POSIX permissions to check. */
    public static boolean isPosix(Path path) {
        Path existing = path.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing != null && Files.getFileAttributeView(existing, PosixFileAttributeView.class) != null;
    }

    private static void requireSameFile(Path file, String kind, BasicFileAttributes checked, Object after, byte[] read)
            throws UnsafeFileException {
        if (checked.fileKey() == null || !checked.fileKey().equals(after)) {
            java.util.Arrays.fill(read, (byte) 0);
            throw new UnsafeFileException("the " + kind + " " + file + " was replaced while it was read; nothing was "
                    + "loaded from it");
        }
    }

    /** The folder must not be group- or world-writable, and must belong to the process user or root. */
    private static void checkFolder(Path file, Path folder, String kind, PosixFileAttributes attributes)
            throws UnsafeFileException {
        Set<PosixFilePermission> p = attributes.permissions();
        boolean group = p.contains(PosixFilePermission.GROUP_WRITE);
        boolean others = p.contains(PosixFilePermission.OTHERS_WRITE);
        if (group || others) {
            throw new UnsafeFileException("the folder " + folder + " of the " + kind + " " + file + " is writable by "
                    + (group && others ? "group and others" : group ? "group" : "others") + " (mode " + octal(p)
                    + "), so another user could replace the " + kind + ": chmod go-w " + folder);
        }
        UserPrincipal owner = attributes.owner();
        UserPrincipal me = processUser(folder);
        if (me != null && !owner.equals(me) && !"root".equals(owner.getName())) {
            throw new UnsafeFileException("the folder " + folder + " of the " + kind + " " + file + " belongs to "
                    + owner.getName() + ", not to this process's user " + me.getName() + " (or root), so "
                    + owner.getName() + " could replace the " + kind);
        }
    }

    /** A regular file, not a symbolic link, owned by the process user, owner-only. */
    private static void checkFile(Path file, String kind, PosixFileAttributes attributes) throws IOException {
        checkRegular(file, kind, attributes);
        UserPrincipal me = processUser(file.toAbsolutePath().getParent());
        if (me != null && !attributes.owner().equals(me)) {
            throw new UnsafeFileException("the " + kind + " " + file + " belongs to " + attributes.owner().getName()
                    + ", not to this process's user " + me.getName() + ": chown " + me.getName() + " " + file);
        }
        Set<PosixFilePermission> loose = EnumSet.noneOf(PosixFilePermission.class);
        loose.addAll(attributes.permissions());
        loose.retainAll(LOOSE);
        if (!loose.isEmpty()) {
            throw new UnsafeFileException("the " + kind + " " + file + " is " + looseness(loose) + " (mode "
                    + octal(attributes.permissions()) + "); a " + kind + " must be owner-only: chmod 600 " + file);
        }
    }

    private static void checkRegular(Path file, String kind, BasicFileAttributes attributes) throws IOException {
        if (attributes.isSymbolicLink()) {
            throw new UnsafeFileException("the " + kind + " " + file + " is a symbolic link; a " + kind + " must be "
                    + "the file itself, opened without following links");
        }
        if (!attributes.isRegularFile()) {
            throw FileRefusedException.notRegular(file, attributes);
        }
    }

    /**
     * The user this process runs as, as a file owner: on Linux the owner of {@code /proc/self} (the
     * effective user, which {@code -Duser.name} cannot change); elsewhere the principal named by
     * {@code user.name}; null if it cannot be told.
     */
    private static UserPrincipal processUser(Path near) {
        try {
            if (Files.isDirectory(PROC_SELF)) {
                return Files.getOwner(PROC_SELF);
            }
            return near.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByName(System.getProperty("user.name"));
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /** "readable by others", "readable and writable by group and others", ... */
    private static String looseness(Set<PosixFilePermission> loose) {
        boolean read = loose.contains(PosixFilePermission.GROUP_READ) || loose.contains(PosixFilePermission.OTHERS_READ);
        boolean write = loose.contains(PosixFilePermission.GROUP_WRITE)
                || loose.contains(PosixFilePermission.OTHERS_WRITE);
        boolean group = loose.stream().anyMatch(p -> p.name().startsWith("GROUP_"));
        boolean others = loose.stream().anyMatch(p -> p.name().startsWith("OTHERS_"));
        String what = read && write ? "readable and writable" : read ? "readable" : write ? "writable" : "accessible";
        return what + " by " + (group && others ? "group and others" : group ? "group" : "others");
    }

    /** The permissions as an octal mode, {@code 0644}. */
    private static String octal(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) {
            mode |= 1 << (8 - p.ordinal()); // OWNER_READ is ordinal 0: 0400
        }
        return String.format("0%03o", mode);
    }
}
