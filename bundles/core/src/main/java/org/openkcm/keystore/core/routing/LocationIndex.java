package org.openkcm.keystore.core.routing;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.secrets.BoundedRead;

/**
 * Where each key was stored: key id to {@code keystore.name}. Reads go to the backend the index
 * names, whatever the policy says now, so a policy change never hides a key.
 * <p>
 * Durable as an append-only text file ({@code + name:version backend} / {@code - name:version}),
 * replayed at start and compacted when it holds many stale lines. The index is a map of hints: a
 * key missing from it (a lost line, a key stored by another runtime) is found by probing the
 * backends, and then recorded. Key ids and backend names are identifiers without spaces or line
 * breaks (the api validates them), so a line cannot be forged by a name. With no path the index
 * lives in memory only.
 */
public final class LocationIndex implements AutoCloseable {
    private static final int COMPACT_MIN_LINES = 10_000;
    /**
     * The largest index file read (512 MiB): compacted at each open to one line of a key id and a
     * backend name per key, that is some millions of keys; a larger file is refused, not loaded.
     */
    public static final int MAX_FILE_BYTES = 512 << 20;

    private final Map<KeyId, String> locations = new ConcurrentHashMap<>();
    private final Path file;
    private final Object fileLock = new Object();
    private BufferedWriter writer;
    private int lines;

    private LocationIndex(Path file) {
        this.file = file;
    }

    /** An index that lives in memory only. */
    public static LocationIndex inMemory() {
        return new LocationIndex(null);
    }

    /** An index kept in the file (created with its folder if absent), loaded now. */
    public static LocationIndex open(Path file) {
        LocationIndex index = new LocationIndex(file);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            if (Files.exists(file)) {
                // A regular file, capped: the index is compacted at each open, one short line per key.
                for (String line : BoundedRead.lines(file, MAX_FILE_BYTES, BoundedRead.Links.FOLLOW,
                        StandardCharsets.UTF_8)) {
                    index.replay(line);
                }
            }
            index.compact();
        } catch (IOException e) {
            throw new UncheckedIOException("the key location index " + file + " cannot be read or written: "
                    + e.getMessage(), e);
        }
        return index;
    }

    public Path file() {
        return file;
    }

    public String get(KeyId id) {
        return locations.get(id);
    }

    public int size() {
        return locations.size();
    }

    /** The keys recorded in a backend (a snapshot, for reconciliation). */
    public java.util.Set<KeyId> keysIn(String backend) {
        java.util.Set<KeyId> keys = new java.util.HashSet<>();
        locations.forEach((id, where) -> {
            if (where.equals(backend)) {
                keys.add(id);
            }
        });
        return keys;
    }

    /** Records that the key is stored in the backend; a write failure is thrown (the caller compensates). */
    public void put(KeyId id, String backend) {
        String previous = locations.put(id, backend);
        if (!backend.equals(previous)) {
            append("+ " + id + " " + backend);
        }
    }

    /** Forgets the key (deleted). */
    public void remove(KeyId id) {
        if (locations.remove(id) != null) {
            append("- " + id);
        }
    }

    /** Forgets the key only if it is recorded in that backend. */
    public void remove(KeyId id, String backend) {
        if (locations.remove(id, backend)) {
            append("- " + id);
        }
    }

    @Override
    public void close() {
        synchronized (fileLock) {
            closeWriter();
        }
    }

    private void replay(String line) {
        String[] parts = line.trim().split(" ");
        try {
            if (parts.length == 3 && parts[0].equals("+")) {
                locations.put(KeyId.parse(parts[1]), parts[2]);
            } else if (parts.length == 2 && parts[0].equals("-")) {
                locations.remove(KeyId.parse(parts[1]));
            }
        } catch (RuntimeException torn) {
            // a line torn by a crash: the probe finds that key again
        }
    }

    private void append(String line) {
        if (file == null) {
            return;
        }
        synchronized (fileLock) {
            try {
                if (writer == null) {
                    writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND);
                }
                writer.write(line);
                writer.write('\n');
                writer.flush();
                if (++lines > COMPACT_MIN_LINES && lines > 2 * locations.size()) {
                    compact();
                }
            } catch (IOException e) {
                closeWriter();
                throw new UncheckedIOException("the key location index " + file + " cannot be written", e);
            }
        }
    }

    /** Rewrites the file with one line per key (atomically, through a temporary file). */
    private void compact() throws IOException {
        synchronized (fileLock) {
            closeWriter();
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            List<String> out = new java.util.ArrayList<>(locations.size());
            locations.forEach((id, backend) -> out.add("+ " + id + " " + backend));
            Files.write(tmp, out, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            lines = out.size();
        }
    }

    private void closeWriter() {
        if (writer != null) {
            try {
                writer.close();
            } catch (IOException ignored) {
                // nothing buffered: every line was flushed
            }
            writer = null;
        }
    }
}
