package org.openkcm.keystore.core.reconcile;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.saga.RecordMatch;

/**
 * The records this runtime sent to a backend and then gave up on: a store whose call failed (it may
 * have reached the backend all the same, as a lost acknowledgement does) or whose location could not
 * be recorded and whose undo failed. Each names the backend, the key id and the record exactly (its
 * digest and created time, a {@link RecordMatch}); no caller was told the key was stored.
 * <p>
 * This is the positive evidence reconciliation needs before it deletes anything: a key a backend
 * holds that the location index does not know is removed only if it still holds, byte for byte, a
 * record named here. A key stored by another runtime on a shared backend is never named here, so it
 * is never removed.
 * <p>
 * Durable as an append-only text file ({@code + backend name:version created sha256} /
 * {@code - backend name:version}), replayed at start and rewritten when it holds many stale lines.
 * Backend names and key ids are identifiers without spaces (the api validates them). Bounded: past
 * {@link #MAX_ENTRIES} the oldest entry is dropped (its record is then reported as unknown, never
 * removed). With no path it lives in memory only.
 */
public final class AbandonedRecords implements AutoCloseable {
    static final int MAX_ENTRIES = 10_000;
    private static final int COMPACT_MIN_LINES = 1_000;

    /** One abandoned record. */
    public record Entry(String backend, KeyId id, RecordMatch record) {
    }

    private record Where(String backend, KeyId id) {
    }

    private final Map<Where, RecordMatch> entries = new LinkedHashMap<>(); // guarded by this, oldest first
    private final Path file;
    private BufferedWriter writer;
    private int lines;

    private AbandonedRecords(Path file) {
        this.file = file;
    }

    public static AbandonedRecords inMemory() {
        return new AbandonedRecords(null);
    }

    /** The ledger kept in the file (created with its folder if absent), loaded now. */
    public static AbandonedRecords open(Path file) {
        AbandonedRecords ledger = new AbandonedRecords(file);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    ledger.replay(line);
                }
            }
            synchronized (ledger) {
                ledger.compact();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("the abandoned-record ledger " + file + " cannot be read or written", e);
        }
        return ledger;
    }

    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** Records that this runtime gave up on the record it sent to the backend under this id. */
    public synchronized void abandoned(String backend, KeyId id, StoredKey record) {
        RecordMatch match = RecordMatch.of(record);
        Where where = new Where(backend, id);
        entries.remove(where);
        entries.put(where, match);
        if (entries.size() > MAX_ENTRIES) {
            Where oldest = entries.keySet().iterator().next();
            entries.remove(oldest);
        }
        append("+ " + backend + " " + id + " " + match.createdMillis().orElseThrow() + " " + match.sha256());
    }

    /** The record abandoned at that backend under that id, if any. */
    public synchronized Optional<RecordMatch> at(String backend, KeyId id) {
        return Optional.ofNullable(entries.get(new Where(backend, id)));
    }

    /** Forgets the entry (its record was removed, or is gone from the backend). */
    public synchronized void forget(String backend, KeyId id) {
        if (entries.remove(new Where(backend, id)) != null) {
            append("- " + backend + " " + id);
        }
    }

    /** Every entry, oldest first (a snapshot). */
    public synchronized List<Entry> entries() {
        List<Entry> out = new ArrayList<>(entries.size());
        entries.forEach((w, m) -> out.add(new Entry(w.backend(), w.id(), m)));
        return out;
    }

    @Override
    public synchronized void close() {
        closeWriter();
    }

    private void replay(String line) {
        String[] parts = line.trim().split(" ");
        try {
            if (parts.length == 5 && parts[0].equals("+")) {
                Where where = new Where(parts[1], KeyId.parse(parts[2]));
                entries.remove(where);
                entries.put(where, new RecordMatch(parts[4], OptionalLong.of(Long.parseLong(parts[3]))));
            } else if (parts.length == 3 && parts[0].equals("-")) {
                entries.remove(new Where(parts[1], KeyId.parse(parts[2])));
            }
        } catch (RuntimeException torn) {
            // a line torn by a crash: that record is reported as unknown, never removed
        }
    }

    private void append(String line) {
        if (file == null) {
            return;
        }
        try {
            if (writer == null) {
                writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            }
            writer.write(line);
            writer.write('\n');
            writer.flush();
            if (++lines > COMPACT_MIN_LINES && lines > 2 * entries.size()) {
                compact();
            }
        } catch (IOException e) {
            closeWriter();
            throw new UncheckedIOException("the abandoned-record ledger " + file + " cannot be written", e);
        }
    }

    /** Rewrites the file with one line per entry (atomically, through a temporary file). */
    private void compact() throws IOException {
        closeWriter();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        List<String> out = new ArrayList<>(entries.size());
        entries.forEach((w, m) -> out.add("+ " + w.backend() + " " + w.id() + " " + m.createdMillis().orElseThrow()
                + " " + m.sha256()));
        Files.write(tmp, out, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        lines = out.size();
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
