package org.openkcm.keystore.core.kek;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.secrets.BoundedRead;
import org.openkcm.keystore.secrets.FileRefusedException;
import org.openkcm.keystore.secrets.OwnerOnlyFile;

/**
 * The durable record of the KEKs this keystore has used: for each KEK id and version, its key
 * check value (the provider's {@link KekProvider#mac MAC} of a fixed label, so it works for every
 * provider, remote ones too, and reveals nothing of the key) and whether records may still be
 * sealed under it. It pins each KEK's identity: a ring whose id and version come back with another
 * check value, or that lacks a version still marked used, is refused ({@link #pin}).
 * <p>
 * A version is marked used when it first becomes the sealing version, and, for a KEK id the
 * record has never seen, for every version present then (records may predate the record). A
 * complete re-wrap {@linkplain #released releases} every other version. The file is text, one
 * line per version, {@code <kek id> <version> <check value, base64url> used|released}, owner-only,
 * replaced atomically on every change. Thread-safe.
 */
public final class KnownKeks {
    /** The label whose MAC under a KEK version is that version's check value. */
    /** The largest record read (1 MiB): a few short lines per KEK version ever used. */
    static final int MAX_FILE_BYTES = 1 << 20;
    static final byte[] CHECK_LABEL = "openkcm-keystore/kek/check-value/v1".getBytes(StandardCharsets.US_ASCII);
    private static final String HEADER = "# OpenKCM Keystore: the KEKs this keystore has used (<kek id> <version> "
            + "<check value> used|released). Back it up with the KEK; do not edit.\n";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private record Entry(byte[] checkValue, boolean used) {
    }

    /** What {@link #pin} found: the versions whose identity is confirmed, and every problem, one line each. */
    public record Pin(String kekId, List<Integer> confirmed, List<String> problems) {
        public Pin {
            confirmed = List.copyOf(confirmed);
            problems = List.copyOf(problems);
        }

        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private final Path file;
    /** kek id, then version ascending. */
    private final Map<String, TreeMap<Integer, Entry>> entries = new TreeMap<>();

    private KnownKeks(Path file) {
        this.file = file;
    }

    /** A record held in memory only (tests, and instances outside a framework). */
    public static KnownKeks inMemory() {
        return new KnownKeks(null);
    }

    /**
     * The record in a file, read now if it exists (it is created at the first change).
     *
     * @throws InvalidInputException if the file is malformed
     * @throws UnavailableException if it cannot be read
     */
    public static KnownKeks open(Path file) {
        KnownKeks known = new KnownKeks(file.toAbsolutePath());
        known.load();
        return known;
    }

    /**
     * Moves a record an earlier version kept elsewhere (the bundle's data area) to {@code target},
     * if it is there and {@code target} is not: read and checked, written (forced) at the target,
     * then the old file deleted, so the pins stay with the KEK file that moves beside them.
     *
     * @return whether it was moved
     * @throws InvalidInputException if the old record is malformed (nothing moved)
     * @throws UnavailableException if it cannot be read, written or deleted
     */
    static boolean moveIfAbsent(Path old, Path target) {
        if (!Files.exists(old, LinkOption.NOFOLLOW_LINKS) || Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        KnownKeks moved = new KnownKeks(target.toAbsolutePath());
        moved.entries.putAll(open(old).entries);
        moved.save();
        try {
            Files.delete(old);
        } catch (IOException e) {
            throw new UnavailableException("the known-KEK record " + old + " was copied to " + target
                    + " but cannot be deleted (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", null, e);
        }
        return true;
    }

    /** The file, or null for a record in memory. */
    public Path file() {
        return file;
    }

    /** The check value of one version of a provider's ring. */
    public static byte[] checkValue(KekProvider provider, int version) {
        return provider.mac(version, CHECK_LABEL);
    }

    public synchronized boolean knows(String kekId) {
        return entries.containsKey(kekId);
    }

    /** The KEK ids recorded, sorted. */
    public synchronized Set<String> kekIds() {
        return Set.copyOf(entries.keySet());
    }

    /** The versions of a KEK id under which records may still be sealed, ascending. */
    public synchronized List<Integer> usedVersions(String kekId) {
        List<Integer> used = new ArrayList<>();
        entries.getOrDefault(kekId, new TreeMap<>()).forEach((v, e) -> {
            if (e.used) {
                used.add(v);
            }
        });
        return used;
    }

    /**
     * Checks a provider's ring against the record, and records what is new if nothing is wrong:
     * versions first seen, and (if it seals) its current version as used. A ring with a problem
     * changes nothing in the record.
     *
     * @param sealing whether the provider is the one that seals
     * @throws UnavailableException if the provider cannot answer or the record cannot be written
     */
    public synchronized Pin pin(KekProvider provider, boolean sealing) {
        String kekId = provider.kekId();
        List<Integer> versions = provider.versions();
        TreeMap<Integer, Entry> known = entries.get(kekId);
        boolean firstSight = known == null;
        TreeMap<Integer, Entry> next = new TreeMap<>(known == null ? Map.of() : known);
        List<Integer> confirmed = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (int version : versions) {
            byte[] check = checkValue(provider, version);
            Entry entry = next.get(version);
            if (entry == null) {
                next.put(version, new Entry(check, firstSight));
                confirmed.add(version);
            } else if (MessageDigest.isEqual(entry.checkValue, check)) {
                confirmed.add(version);
            } else {
                problems.add("KEK '" + kekId + "' version " + version + " is not the key recorded under that id and "
                        + "version in " + where() + " (its check value differs): another key file or key was "
                        + "configured; restore the original KEK, or give a new KEK a new kek.id");
            }
        }
        for (Map.Entry<Integer, Entry> e : next.entrySet()) {
            if (e.getValue().used && !versions.contains(e.getKey())) {
                problems.add("KEK '" + kekId + "' version " + e.getKey() + " is missing from its ring, but records "
                        + "may still be sealed under it (" + where() + " records it as used): restore that version, "
                        + "or re-wrap every key (keystore:rewrap) before removing it");
            }
        }
        if (!problems.isEmpty()) {
            return new Pin(kekId, confirmed, problems);
        }
        if (sealing) {
            int current = provider.currentVersion();
            Entry entry = next.get(current);
            if (!entry.used) {
                next.put(current, new Entry(entry.checkValue, true));
            }
        }
        if (!same(known, next)) {
            entries.put(kekId, next);
            try {
                save();
            } catch (RuntimeException e) {
                if (known == null) {
                    entries.remove(kekId);
                } else {
                    entries.put(kekId, known);
                }
                throw e;
            }
        }
        return new Pin(kekId, confirmed, List.of());
    }

    /**
     * After a complete re-wrap to {@code target}: no record is sealed under any other KEK id or
     * version any more, so each may be removed from its ring.
     */
    public synchronized void released(KekRef target) {
        Map<String, TreeMap<Integer, Entry>> before = new TreeMap<>();
        boolean changed = false;
        for (Map.Entry<String, TreeMap<Integer, Entry>> id : entries.entrySet()) {
            before.put(id.getKey(), new TreeMap<>(id.getValue()));
            for (Map.Entry<Integer, Entry> v : id.getValue().entrySet()) {
                boolean isTarget = id.getKey().equals(target.kekId()) && v.getKey() == target.version();
                if (!isTarget && v.getValue().used) {
                    v.setValue(new Entry(v.getValue().checkValue, false));
                    changed = true;
                }
            }
        }
        if (changed) {
            try {
                save();
            } catch (RuntimeException e) {
                entries.clear();
                entries.putAll(before);
                throw e;
            }
        }
    }

    private String where() {
        return file == null ? "the known-KEK record" : "the known-KEK record " + file;
    }

    private static boolean same(TreeMap<Integer, Entry> a, TreeMap<Integer, Entry> b) {
        if (a == null || a.size() != b.size()) {
            return false;
        }
        for (Map.Entry<Integer, Entry> e : a.entrySet()) {
            Entry other = b.get(e.getKey());
            if (other == null || other.used != e.getValue().used) {
                return false;
            }
        }
        return true;
    }

    private void load() {
        List<String> lines;
        try {
            lines = BoundedRead.lines(file, MAX_FILE_BYTES, BoundedRead.Links.FOLLOW, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return;
        } catch (FileRefusedException e) {
            throw new UnavailableException("the known-KEK record " + e.getMessage(), null, e);
        } catch (IOException e) {
            throw new UnavailableException("the known-KEK record " + file + " cannot be read ("
                    + e.getClass().getSimpleName() + ")", null, e);
        }
        int number = 0;
        for (String line : lines) {
            number++;
            String text = line.strip();
            if (text.isEmpty() || text.startsWith("#")) {
                continue;
            }
            String[] parts = text.split(" +");
            String field = "the known-KEK record " + file + " line " + number;
            if (parts.length != 4 || !(parts[3].equals("used") || parts[3].equals("released"))) {
                throw new InvalidInputException(field, "expected <kek id> <version> <check value> used|released");
            }
            try {
                KekIds.check(parts[0]);
                int version = Integer.parseInt(parts[1]);
                byte[] check = Base64.getUrlDecoder().decode(parts[2]);
                if (version < 1 || check.length != KekProvider.MAC_BYTES) {
                    throw new IllegalArgumentException();
                }
                entries.computeIfAbsent(parts[0], k -> new TreeMap<>()).put(version,
                        new Entry(check, parts[3].equals("used")));
            } catch (IllegalArgumentException | InvalidInputException e) {
                throw new InvalidInputException(field, "is malformed: expected <kek id> <version> "
                        + "<check value, base64url of 32 bytes> used|released");
            }
        }
    }

    private void save() {
        if (file == null) {
            return;
        }
        StringBuilder text = new StringBuilder(HEADER);
        entries.forEach((id, versions) -> versions.forEach((v, e) -> text.append(id).append(' ').append(v).append(' ')
                .append(B64.encodeToString(e.checkValue)).append(' ').append(e.used ? "used" : "released")
                .append('\n')));
        Path dir = file.getParent();
        Path tmp = null;
        try {
            boolean posix = OwnerOnlyFile.isPosix(dir);
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, posix ? new FileAttribute<?>[] {
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))}
                        : new FileAttribute<?>[0]);
            }
            tmp = Files.createTempFile(dir, ".known-keks-", ".tmp", posix ? new FileAttribute<?>[] {
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                    : new FileAttribute<?>[0]);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.US_ASCII));
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException e) {
            throw new UnavailableException("the known-KEK record " + file + " cannot be written ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", null, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: it holds check values only
                }
            }
        }
    }

    /** The versions of a provider that are in the record (for messages). */
    synchronized Set<Integer> recordedVersions(String kekId) {
        return new LinkedHashSet<>(entries.getOrDefault(kekId, new TreeMap<>()).keySet());
    }
}
