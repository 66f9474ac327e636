package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;

/**
 * A runtime's hold on its home: an exclusive lock on {@code data/.runtime.lock}, taken by the
 * launcher before it writes anything in the home (the framework's bundle cache included) and held
 * until the process exits, when the operating system releases it (after a crash or
 * {@code kill -9} too). So a second {@code bin/keystore} on the same home, in any mode, is refused
 * before it can rebuild the first one's bundle cache or share its journal, location index and
 * key files.
 * <p>
 * The file records the holder's process id, for the refusal message; the lock, not the file, is
 * what counts, so a file left behind by a runtime that is gone is simply taken over.
 */
final class HomeLock {

    static final String FILE = ".runtime.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private HomeLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Another runtime holds the home. */
    static final class HeldException extends IOException {
        private static final long serialVersionUID = 1L;
        private final transient OptionalLong pid;

        HeldException(Home home, OptionalLong pid) {
            super("a runtime is already running on this home (" + home.root()
                    + (pid.isPresent() ? ", pid " + pid.getAsLong() : "") + "); stop it first, or use another home");
            this.pid = pid;
        }

        /** The process id the holder recorded, if it had written it yet. */
        OptionalLong pid() {
            return pid;
        }
    }

    /**
     * Takes the lock, creating {@code data/} and the lock file if they are missing, and records
     * this process's id in it.
     *
     * @throws HeldException if another runtime (or this process) holds it
     * @throws IOException if the home is not a distribution or the file cannot be opened
     */
    static HomeLock acquire(Home home) throws IOException {
        home.checkDistribution(); // nothing is created in a folder that is not a home
        Files.createDirectories(home.data());
        Path file = file(home);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException heldHere) {
                lock = null;
            }
            if (lock == null) {
                OptionalLong pid = recordedPid(channel);
                channel.close();
                throw new HeldException(home, pid);
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            channel.force(false);
            return new HomeLock(channel, lock);
        } catch (IOException | RuntimeException e) {
            if (channel.isOpen()) {
                channel.close();
            }
            throw e;
        }
    }

    static Path file(Home home) {
        return home.data().resolve(FILE);
    }

    boolean held() {
        return lock.isValid();
    }

    /** Gives the home up; for tests (a runtime keeps it until its process exits). */
    void release() throws IOException {
        channel.close();
    }

    private static OptionalLong recordedPid(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(32);
        channel.read(buffer, 0);
        String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).strip();
        try {
            return text.isEmpty() ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(text));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
