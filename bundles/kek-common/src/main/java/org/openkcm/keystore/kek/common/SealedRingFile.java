package org.openkcm.keystore.kek.common;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;

/**
 * The ring at rest: every KEK version sealed by the root key, one line each, in a text file beside
 * the data. It holds nothing that opens without the root. Format:
 * <pre>
 * # comment lines
 * openkcm-sealed-kek-ring 1 &lt;kek id&gt;
 * &lt;version&gt; &lt;base64 of the sealed KEK&gt;
 * </pre>
 * Written whole to a temporary file (mode 0600, forced to disk) and renamed over the old one.
 */
public final class SealedRingFile {
    static final String MAGIC = "openkcm-sealed-kek-ring";
    static final int FORMAT = 1;
    private static final int MAX_BYTES = 1 << 20;

    private SealedRingFile() {
    }

    /** The sealed versions in the file, or null if there is no file. */
    public static NavigableMap<Integer, byte[]> read(Path file, String kekId) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new InvalidInputException("ring.file", file + " is larger than " + MAX_BYTES + " bytes: not a sealed KEK ring");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UnavailableException("cannot read the sealed KEK ring " + file + ": " + e.getMessage(), null, e);
        }
        List<String> lines = new String(bytes, StandardCharsets.UTF_8).lines().toList();
        NavigableMap<Integer, byte[]> sealed = new TreeMap<>();
        boolean header = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file + ":" + (i + 1);
            String[] parts = line.split(" ");
            if (!header) {
                if (parts.length != 3 || !parts[0].equals(MAGIC) || !parts[1].equals(String.valueOf(FORMAT))) {
                    throw new InvalidInputException("ring.file", where + ": not a sealed KEK ring (expected '" + MAGIC
                            + " " + FORMAT + " <kek id>')");
                }
                if (!parts[2].equals(kekId)) {
                    throw new InvalidInputException("kek.id", where + ": the ring file holds KEK id '" + parts[2]
                            + "', not '" + kekId + "': each KEK id needs its own ring file");
                }
                header = true;
                continue;
            }
            if (parts.length != 2) {
                throw new InvalidInputException("ring.file", where + ": expected '<version> <base64>'");
            }
            int version;
            byte[] value;
            try {
                version = Integer.parseInt(parts[0]);
                value = Base64.getDecoder().decode(parts[1]);
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException("ring.file", where + ": expected '<version> <base64>'");
            }
            if (version < 1 || sealed.put(version, value) != null) {
                throw new InvalidInputException("ring.file", where + ": version " + version + " is below 1 or repeated");
            }
        }
        if (!header || sealed.isEmpty()) {
            throw new InvalidInputException("ring.file", file + ": no sealed KEK version in the file");
        }
        return Collections.unmodifiableNavigableMap(sealed);
    }

    /** Replaces the file with these sealed versions, atomically; creates its folder (mode 0700) if absent. */
    public static void write(Path file, String kekId, String rootDescription, NavigableMap<Integer, byte[]> sealed) {
        StringBuilder text = new StringBuilder()
                .append("# OpenKCM Keystore KEK ring, each version sealed by ").append(rootDescription).append(".\n")
                .append("# Nothing here opens without that root key. Back it up with the keys; do not edit.\n")
                .append(MAGIC).append(' ').append(FORMAT).append(' ').append(kekId).append('\n');
        sealed.forEach((version, value) -> text.append(version).append(' ')
                .append(Base64.getEncoder().encodeToString(value)).append('\n'));
        Path dir = file.toAbsolutePath().getParent();
        Path temp = dir.resolve(file.getFileName() + ".tmp");
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Files.deleteIfExists(temp);
            try (FileChannel channel = FileChannel.open(temp, java.util.Set.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer buffer = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            forceDirectory(dir);
        } catch (IOException e) {
            throw new UnavailableException("cannot write the sealed KEK ring " + file + ": " + e.getMessage(), null, e);
        }
    }

    private static void forceDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (FileSystemException notSupported) {
            // some file systems cannot open a folder for reading; the rename is then as durable as they allow
        }
    }
}
