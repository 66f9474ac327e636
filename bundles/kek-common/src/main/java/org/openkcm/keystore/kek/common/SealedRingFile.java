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
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.secrets.FileRefusedException;
import org.openkcm.keystore.secrets.OwnerOnlyFile;
import org.openkcm.keystore.secrets.UnsafeFileException;

/**
 * The ring at rest: every KEK version sealed by the root key, with its key check value, one line
 * each, in a text file beside the data. It holds nothing that opens without the root. Format:
 * <pre>
 * # comment lines
 * openkcm-sealed-kek-ring 2 &lt;kek id&gt;
 * &lt;version&gt; &lt;base64 of the sealed KEK&gt; &lt;check value, base64url&gt;
 * </pre>
 * The check value is the one the core's known-KEK record keeps ({@link LocalKekRing#checkValue}):
 * it names the key a version must unseal to. Format 1, written before check values were kept with
 * the ring, has no third field; it is still read (its check values are then absent) and the next
 * write is format 2. Written whole to a temporary file (mode 0600, forced to disk) and renamed over
 * the old one, in a folder created 0700 if absent: what a provider writes passes the checks of its
 * next read.
 */
public final class SealedRingFile {
    static final String MAGIC = "openkcm-sealed-kek-ring";
    static final int FORMAT = 2;
    /** The format before check values were kept with the ring: {@code <version> <base64>}. */
    static final int FORMAT_WITHOUT_CHECK_VALUES = 1;
    private static final Base64.Encoder CHECK_VALUE_TEXT = Base64.getUrlEncoder().withoutPadding();
    static final int MAX_BYTES = 1 << 20;
    /** What the file is called in a refusal: "the sealed KEK ring /x is a symbolic link; ...". */
    static final String KIND = "sealed KEK ring";

    private SealedRingFile() {
    }

    /**
     * One version as stored: its sealed form and its check value, which is null in a format 1 file.
     */
    public record SealedVersion(byte[] sealed, byte[] checkValue) {
        public SealedVersion {
            if (sealed == null) {
                throw new IllegalArgumentException("a sealed version needs its sealed bytes");
            }
        }

        public SealedVersion withSealed(byte[] resealed) {
            return new SealedVersion(resealed, checkValue);
        }

        public SealedVersion withCheckValue(byte[] value) {
            return new SealedVersion(sealed, value);
        }
    }

    /**
     * The sealed versions in the file, or null if there is no file. The file is read as
     * {@link OwnerOnlyFile} reads it, as the core reads its KEK file.
     *
     * @throws PolicyRefusedException if the file or its folder is refused (a symbolic link, another
     *         owner, open to group or others, a folder others may write, replaced while read)
     */
    public static NavigableMap<Integer, SealedVersion> read(Path file, String kekId) {
        byte[] bytes;
        try {
            // Owner-only, no link, a folder no one else writes; a regular file (a FIFO would block
            // the provider's start), capped while read too.
            bytes = OwnerOnlyFile.read(file, KIND, MAX_BYTES);
        } catch (NoSuchFileException e) {
            return null;
        } catch (UnsafeFileException e) {
            throw new PolicyRefusedException(null, e.getMessage());
        } catch (FileRefusedException e) {
            throw new InvalidInputException("ring.file", e.getMessage() + ": not a sealed KEK ring");
        } catch (IOException e) {
            throw new UnavailableException("cannot read the sealed KEK ring " + file + ": " + e.getMessage(), null, e);
        }
        List<String> lines = new String(bytes, StandardCharsets.UTF_8).lines().toList();
        NavigableMap<Integer, SealedVersion> sealed = new TreeMap<>();
        boolean header = false;
        int format = FORMAT;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file + ":" + (i + 1);
            String[] parts = line.split(" ");
            if (!header) {
                if (parts.length != 3 || !parts[0].equals(MAGIC) || !(parts[1].equals(String.valueOf(FORMAT))
                        || parts[1].equals(String.valueOf(FORMAT_WITHOUT_CHECK_VALUES)))) {
                    throw new InvalidInputException("ring.file", where + ": not a sealed KEK ring (expected '" + MAGIC
                            + " " + FORMAT + " <kek id>', or format " + FORMAT_WITHOUT_CHECK_VALUES + ")");
                }
                format = Integer.parseInt(parts[1]);
                if (!parts[2].equals(kekId)) {
                    throw new InvalidInputException("kek.id", where + ": the ring file holds KEK id '" + parts[2]
                            + "', not '" + kekId + "': each KEK id needs its own ring file");
                }
                header = true;
                continue;
            }
            boolean withCheckValue = format == FORMAT;
            String expected = withCheckValue ? "'<version> <base64> <check value>'" : "'<version> <base64>'";
            if (parts.length != (withCheckValue ? 3 : 2)) {
                throw new InvalidInputException("ring.file", where + ": expected " + expected);
            }
            int version;
            SealedVersion value;
            try {
                version = Integer.parseInt(parts[0]);
                byte[] checkValue = withCheckValue ? Base64.getUrlDecoder().decode(parts[2]) : null;
                if (checkValue != null && checkValue.length != KekProvider.MAC_BYTES) {
                    throw new IllegalArgumentException("a check value is " + KekProvider.MAC_BYTES + " bytes");
                }
                value = new SealedVersion(Base64.getDecoder().decode(parts[1]), checkValue);
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException("ring.file", where + ": expected " + expected
                        + (withCheckValue ? " (the check value: base64url of " + KekProvider.MAC_BYTES + " bytes)" : ""));
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

    /**
     * Replaces the file with these sealed versions, in the current format, atomically; creates its
     * folder (mode 0700) if absent.
     *
     * @throws IllegalArgumentException if a version lacks its check value
     */
    public static void write(Path file, String kekId, String rootDescription,
            NavigableMap<Integer, SealedVersion> sealed) {
        sealed.forEach((version, value) -> {
            if (value.checkValue() == null) {
                throw new IllegalArgumentException("version " + version + " has no check value to write");
            }
        });
        StringBuilder text = new StringBuilder()
                .append("# OpenKCM Keystore KEK ring, each version sealed by ").append(rootDescription).append(".\n")
                .append("# Nothing here opens without that root key. Back it up with the keys; do not edit.\n")
                .append("# <version> <sealed KEK> <its key check value, as in the known-KEK record>\n")
                .append(MAGIC).append(' ').append(FORMAT).append(' ').append(kekId).append('\n');
        sealed.forEach((version, value) -> text.append(version).append(' ')
                .append(Base64.getEncoder().encodeToString(value.sealed())).append(' ')
                .append(CHECK_VALUE_TEXT.encodeToString(value.checkValue())).append('\n'));
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
