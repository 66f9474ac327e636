package org.openkcm.keystore.audit.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The audit files of one folder: {@code audit.log}, opened for appending only, and the rotated
 * {@code audit.log.1} (newest) to {@code audit.log.N} (oldest). Files are owner-only (0600), the
 * folder too (0700); an existing file or folder with wider permissions is narrowed on open.
 * <p>
 * Appends are serialised; with {@code force}, {@link #append} returns once the line is on the
 * disk, and callers that append while a force is under way share the next one (group commit), so
 * concurrent callers do not pay one fsync each. Lines are numbered in the order they are written;
 * a line counts as durable once a force that began after it was written succeeded on its file.
 * When a file is closed without its lines forced (a failed write or force), those lines are
 * counted as lost, and every caller still waiting for one of them fails (a batch whose force
 * fails fails every call in it: after a failed fsync, Linux may drop the pages and a later fsync
 * succeed, so a retry proves nothing).
 */
final class AuditFile implements AutoCloseable {

    /** How a file is opened; tests substitute one whose writes or forces fail. */
    interface Opener {
        FileChannel open(Path file, Set<? extends OpenOption> options, FileAttribute<?>... attributes)
                throws IOException;
    }

    static final String CURRENT = "audit.log";
    static final long DEFAULT_MAX_FILE_BYTES = 16L * 1024 * 1024;
    static final int DEFAULT_MAX_FILES = 10;

    private static final Set<PosixFilePermission> FILE_PERMISSIONS = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> FOLDER_PERMISSIONS = PosixFilePermissions.fromString("rwx------");

    private final Path folder;
    private final long maxFileBytes;
    private final int maxFiles;
    private final boolean force;
    private final Opener opener;

    private final Object writeLock = new Object();
    private final Object forceLock = new Object();
    // guarded by writeLock
    private FileChannel channel;
    private Object channelFileKey;
    private long size;
    private long written;
    /** Lines (lostAfter, lostUpTo] were in a file closed before they were forced: not durable. */
    private long lostAfter;
    private long lostUpTo;
    /** The highest line known to be on disk; only grows. */
    private final AtomicLong forced = new AtomicLong();

    AuditFile(Path folder, long maxFileBytes, int maxFiles, boolean force) {
        this(folder, maxFileBytes, maxFiles, force, FileChannel::open);
    }

    AuditFile(Path folder, long maxFileBytes, int maxFiles, boolean force, Opener opener) {
        if (maxFileBytes < 1024) {
            throw new IllegalArgumentException("max.file.bytes must be at least 1024, not " + maxFileBytes);
        }
        if (maxFiles < 1) {
            throw new IllegalArgumentException("max.files must be at least 1, not " + maxFiles);
        }
        this.folder = folder.toAbsolutePath().normalize();
        this.maxFileBytes = maxFileBytes;
        this.maxFiles = maxFiles;
        this.force = force;
        this.opener = opener;
    }

    Path folder() {
        return folder;
    }

    Path current() {
        return folder.resolve(CURRENT);
    }

    /**
     * Appends one line (which ends with a newline) and, when forcing, waits until it is on disk.
     * A failure closes the file, so the next append opens it again (the fault may have cleared).
     */
    void append(byte[] line) throws IOException {
        long mine = write(line);
        awaitDurable(mine, mine);
    }

    /**
     * Appends one line without waiting for the disk and returns its number, for {@link
     * #awaitDurable}. The line is in the operating system's page cache when this returns.
     */
    long write(byte[] line) throws IOException {
        synchronized (writeLock) {
            FileChannel out = open();
            try {
                if (size > 0 && size + line.length > maxFileBytes) {
                    rotate(out);
                    out = open();
                }
                ByteBuffer buffer = ByteBuffer.wrap(line);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
            } catch (IOException | RuntimeException e) {
                closeLosingUnforced();
                throw e;
            }
            size += line.length;
            return ++written;
        }
    }

    /**
     * When forcing, returns once lines first to last are on disk, forcing the file unless a force
     * that began after they were written already covered them; fails if any of them was in a file
     * closed before it was forced. Without forcing, returns at once.
     */
    void awaitDurable(long first, long last) throws IOException {
        if (!force) {
            return;
        }
        while (forced.get() < last) {
            synchronized (forceLock) {
                if (forced.get() >= last) {
                    break;
                }
                long covered;
                FileChannel current;
                synchronized (writeLock) {
                    covered = written;
                    current = channel;
                }
                if (current == null) {
                    break; // closed after a failure (the lines are counted lost) or at close()
                }
                try {
                    current.force(false);
                    forced.accumulateAndGet(covered, Math::max);
                } catch (ClosedChannelException closedMeanwhile) {
                    // rotated (its lines were forced) or closed after a failure (counted lost): look again
                } catch (IOException | RuntimeException e) {
                    synchronized (writeLock) {
                        if (channel == current) {
                            closeLosingUnforced();
                        } else {
                            markLost();
                        }
                    }
                    throw e;
                }
            }
        }
        synchronized (writeLock) {
            if (first <= lostUpTo && last > lostAfter) {
                throw new IOException("the audit file was closed after a failed write or force before this record"
                        + " was on disk");
            }
        }
        if (forced.get() < last) {
            throw new IOException("the audit file was closed before this record was forced");
        }
    }

    /** Counts every line written and not yet forced as lost (guarded by writeLock). */
    private void markLost() {
        long after = forced.get();
        lostAfter = lostUpTo > 0 ? Math.min(lostAfter, after) : after;
        lostUpTo = written;
    }

    /**
     * The open audit.log, or a new one. If the path no longer names the file that is open (it was
     * removed or replaced), the open file is dropped: lines must land in what readers find.
     */
    private FileChannel open() throws IOException {
        if (channel != null) {
            if (channelFileKey == null || channelFileKey.equals(fileKey(current()))) {
                return channel;
            }
            // Moved away or replaced: when forcing, its lines must reach the disk before the file is let go.
            if (force) {
                try {
                    channel.force(false);
                    forced.accumulateAndGet(written, Math::max);
                } catch (IOException | RuntimeException e) {
                    closeLosingUnforced();
                    throw e;
                }
            }
            closeQuietly();
        }
        ensureFolder();
        Path file = current();
        FileChannel opened = opener.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), fileAttributes());
        try {
            narrow(file, FILE_PERMISSIONS);
            size = opened.size();
            channelFileKey = fileKey(file);
        } catch (IOException | RuntimeException e) {
            opened.close();
            throw e;
        }
        channel = opened;
        return opened;
    }

    /** The file's identity (device and inode on Linux), or null if nothing is there. */
    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException gone) {
            return null;
        }
    }

    /** audit.log becomes audit.log.1, each audit.log.i becomes .i+1, and the one past maxFiles goes. */
    private void rotate(FileChannel out) throws IOException {
        out.force(false);
        forced.accumulateAndGet(written, Math::max);
        out.close();
        channel = null;
        Files.deleteIfExists(rotated(maxFiles));
        for (int i = maxFiles - 1; i >= 1; i--) {
            Path from = rotated(i);
            if (Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
                Files.move(from, rotated(i + 1), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.move(current(), rotated(1), StandardCopyOption.ATOMIC_MOVE);
        forceFolder();
    }

    Path rotated(int i) {
        return folder.resolve(CURRENT + "." + i);
    }

    private void ensureFolder() throws IOException {
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(folder, folderAttributes());
        }
        narrow(folder, FOLDER_PERMISSIONS);
    }

    /** Renames are durable only once the folder is forced (Linux; elsewhere a folder cannot be opened). */
    private void forceFolder() throws IOException {
        if (!posix()) {
            return;
        }
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    private static void narrow(Path path, Set<PosixFilePermission> permissions) throws IOException {
        if (posix() && !Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS).equals(permissions)) {
            Files.setPosixFilePermissions(path, permissions);
        }
    }

    private static FileAttribute<?>[] fileAttributes() {
        return posix() ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE_PERMISSIONS)}
                : new FileAttribute<?>[0];
    }

    private static FileAttribute<?>[] folderAttributes() {
        return posix() ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FOLDER_PERMISSIONS)}
                : new FileAttribute<?>[0];
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    /** Closes the file after a failure; its unforced lines are counted lost (guarded by writeLock). */
    private void closeLosingUnforced() {
        markLost();
        closeQuietly();
    }

    private void closeQuietly() {
        FileChannel out = channel;
        channel = null;
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // already failing; the caller reports the first fault
            }
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (writeLock) {
            FileChannel out = channel;
            channel = null;
            if (out != null) {
                try {
                    out.force(false);
                    forced.accumulateAndGet(written, Math::max);
                } catch (NoSuchFileException ignored) {
                    // nothing left to force
                } finally {
                    out.close();
                }
            }
        }
    }
}
