package org.openkcm.keystore.core.journal;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.zip.CRC32C;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.ReplayReport.Damage;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.secrets.BoundedRead;
import org.osgi.service.log.Logger;

/**
 * The durable intent journal of multi-step operations: an append-only file of records
 * <pre>
 *   file   := header record*
 *   header := "OKCMJNL1"                                  (8 bytes)
 *   record := length:u32 crc:u32 payload[length]          (big-endian)
 *   crc    := CRC32C(length bytes ‖ payload)
 *   payload:= BEGIN     1 op:uuid kind:utf keys:list(utf) params:map steps:list(utf)
 *           | STEP_DONE 2 op:uuid step:i32 notes:map
 *           | END       3 op:uuid outcome:u8
 * </pre>
 * (utf: Java modified UTF-8 with a u16 length; list: i32 count then items; map: i32 count then key,
 * value pairs.) A BEGIN record is forced to disk ({@link FileChannel#force(boolean) force(true)})
 * before {@link #begin} returns, that is before the operation's first step; an END record is forced
 * before {@link #end} returns, that is before the operation is acknowledged. Step records are
 * written through to the operating system (they survive a killed process) and forced only if
 * configured: a lost one makes recovery repeat an idempotent step.
 * <p>
 * At {@link #open}, the file is replayed. A torn tail (a last record cut short or failing its
 * checksum) is reported and cut off, never trusted. A record before the end that fails its checksum
 * or cannot be parsed stops the replay there: the file is moved aside (kept for inspection), and a
 * new one holds what was read up to the damage. When no operation is open and the file has grown
 * past a threshold, it is rewritten with nothing but the header, through a temporary file moved into
 * place atomically ({@link StandardCopyOption#ATOMIC_MOVE}).
 * <p>
 * Thread-safe: records are appended under one lock (which guards the file alone: no service or
 * framework call is made under it).
 */
public final class IntentJournal implements AutoCloseable {
    public static final String PID = "org.openkcm.keystore.journal";
    static final byte[] MAGIC = "OKCMJNL1".getBytes(StandardCharsets.US_ASCII);
    static final int MAX_RECORD = 1 << 20;
    /**
     * The largest journal file replayed (1 GiB), read whole at start. Compaction runs only at a
     * moment when no intent is open, so under steady load the file may grow well past
     * {@code compact.bytes}: the cap is set high so that no journal this runtime wrote is refused.
     */
    public static final int MAX_FILE_BYTES = 1 << 30;
    static final byte BEGIN = 1;
    static final byte STEP_DONE = 2;
    static final byte END = 3;
    private static final int MIN_PAYLOAD = 1 + 16;

    private final JournalSettings settings;
    private final Logger logger;
    private final Object lock = new Object();
    // guarded by lock
    private final Map<UUID, Intent> open = new LinkedHashMap<>();
    private volatile FileChannel channel;
    private long size;
    private volatile long appended; // bytes ever appended (not reset by compaction); written under lock
    private final Object forceLock = new Object();
    private long forcedTo; // guarded by forceLock
    private ReplayReport report;

    private IntentJournal(JournalSettings settings, Logger logger) {
        this.settings = settings;
        this.logger = logger;
    }

    /** A journal in memory only: it keeps the intents of this process and nothing survives it. */
    public static IntentJournal inMemory() {
        IntentJournal j = new IntentJournal(null, null);
        j.report = new ReplayReport(List.of(), 0, Damage.NONE, "", 0, Optional.empty());
        return j;
    }

    /**
     * Opens (or creates, with its folders) the journal file and replays it; see {@link #replay()}.
     *
     * @throws UnavailableException if the file cannot be read or written
     */
    public static IntentJournal open(JournalSettings settings, Logger logger) {
        IntentJournal j = new IntentJournal(settings, logger);
        try {
            j.load();
        } catch (IOException e) {
            j.closeQuietly();
            throw new UnavailableException("the intent journal " + settings.file() + " cannot be opened: " + e.getMessage(),
                    null, e);
        }
        return j;
    }

    /** What the replay at {@link #open} found: the unfinished operations, and any damage. */
    public ReplayReport replay() {
        synchronized (lock) {
            return report;
        }
    }

    public Optional<Path> file() {
        return settings == null ? Optional.empty() : Optional.of(settings.file());
    }

    /** The operations begun and not ended, in the order they began. */
    public List<Intent> unfinished() {
        synchronized (lock) {
            return List.copyOf(open.values());
        }
    }

    /** The open operation with this id, if any. */
    public Optional<Intent> get(UUID id) {
        synchronized (lock) {
            return Optional.ofNullable(open.get(id));
        }
    }

    /** The size of the file now, in bytes (0 in memory). */
    public long size() {
        synchronized (lock) {
            return size;
        }
    }

    /**
     * Records that an operation begins, forced to disk before this returns.
     *
     * @throws UnavailableException if the record cannot be written: the operation must not start
     */
    public Intent begin(String kind, List<KeyId> keys, Map<String, String> params, List<String> steps) {
        return begin(UUID.randomUUID(), kind, keys, params, steps);
    }

    /**
     * As {@link #begin(String, List, Map, List)}, under an id the caller chose (so that it can mark
     * the operation as its own before the intent is visible to recovery).
     */
    public Intent begin(UUID id, String kind, List<KeyId> keys, Map<String, String> params, List<String> steps) {
        Intent intent = Intent.begun(id, kind, keys, params, steps);
        byte[] payload = beginPayload(intent);
        long written;
        synchronized (lock) {
            if (open.containsKey(intent.id())) {
                throw new IllegalStateException("operation " + intent.id() + " is open already");
            }
            written = append(payload);
            open.put(intent.id(), intent);
        }
        force(written);
        return intent;
    }

    /** Records that a step of an open operation is done, with what it noted. */
    public Intent stepDone(UUID id, int step, Map<String, String> notes) {
        byte[] payload = payload(out -> {
            out.writeByte(STEP_DONE);
            uuid(out, id);
            out.writeInt(step);
            map(out, notes);
        });
        Intent next;
        long written;
        synchronized (lock) {
            Intent intent = open.get(id);
            if (intent == null) {
                throw new IllegalStateException("operation " + id + " is not open in the journal");
            }
            written = append(payload);
            next = intent.withStepDone(step, notes);
            open.put(id, next);
        }
        if (settings != null && settings.forceSteps()) {
            force(written);
        }
        return next;
    }

    /** Records that an operation ended, forced to disk before this returns; compacts when nothing is open. */
    public void end(UUID id, Outcome outcome) {
        byte[] payload = payload(out -> {
            out.writeByte(END);
            uuid(out, id);
            out.writeByte(outcome.ordinal());
        });
        long written;
        synchronized (lock) {
            written = append(payload);
            open.remove(id);
            if (open.isEmpty() && settings != null && size > settings.compactBytes()) {
                try {
                    rewrite(settings.file());
                } catch (IOException e) {
                    // the journal as it is stays valid: compaction is tried again at the next end
                    Logs.warn(logger, "The intent journal {} could not be compacted: {}", settings.file(), e.getMessage());
                }
            }
        }
        force(written);
    }

    @Override
    public void close() {
        synchronized (lock) {
            closeQuietly();
        }
    }

    // --------------------------------------------------------------- replay

    private void load() throws IOException {
        Path file = settings.file();
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // A regular file of at most MAX_FILE_BYTES: a FIFO would block the start, a huge file fill the heap.
        byte[] bytes = Files.exists(file) ? BoundedRead.bytes(file, MAX_FILE_BYTES, BoundedRead.Links.FOLLOW) : new byte[0];
        if (bytes.length == 0) {
            rewrite(file);
            report = new ReplayReport(List.of(), 0, Damage.NONE, "", 0, Optional.empty());
            return;
        }
        Scan scan = scan(bytes);
        open.putAll(scan.intents);
        Optional<Path> quarantined = Optional.empty();
        switch (scan.damage) {
            case NONE -> {
            }
            case TORN_TAIL -> Logs.warn(logger, "Intent journal {}: {}; {} bytes cut off, not trusted", file,
                    scan.detail, bytes.length - scan.good);
            case CORRUPT -> {
                Path aside = file.resolveSibling(file.getFileName() + ".corrupt-" + System.currentTimeMillis());
                Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
                quarantined = Optional.of(aside);
                Logs.error(logger, "Intent journal {}: {}. Replay stopped there; the file was moved to {}. "
                        + "Operations recorded after the damage are unknown: run reconciliation.", file, scan.detail, aside);
            }
        }
        report = new ReplayReport(new ArrayList<>(open.values()), scan.records, scan.damage, scan.detail,
                bytes.length - scan.good, quarantined);
        if (scan.damage == Damage.CORRUPT || open.isEmpty()) {
            rewrite(file); // a fresh file holding the open intents (or nothing)
            return;
        }
        channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
        if (scan.damage == Damage.TORN_TAIL) {
            channel.truncate(scan.good);
            channel.force(true);
        }
        size = scan.good;
        channel.position(size);
    }

    private static final class Scan {
        final Map<UUID, Intent> intents = new LinkedHashMap<>();
        int records;
        long good;
        Damage damage = Damage.NONE;
        String detail = "";
    }

    /** Reads the records of a journal's bytes, stopping at the first one that cannot be trusted. */
    static Scan scan(byte[] bytes) {
        Scan scan = new Scan();
        if (bytes.length < MAGIC.length || !Arrays.equals(Arrays.copyOf(bytes, MAGIC.length), MAGIC)) {
            if (bytes.length < MAGIC.length && Arrays.equals(bytes, Arrays.copyOf(MAGIC, bytes.length))) {
                return damage(scan, Damage.TORN_TAIL, "the header is cut short");
            }
            return damage(scan, Damage.CORRUPT, "the file does not start with the journal header");
        }
        int pos = MAGIC.length;
        scan.good = pos;
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        while (pos < bytes.length) {
            int remaining = bytes.length - pos;
            if (remaining < 8) {
                return damage(scan, Damage.TORN_TAIL, "the last record is cut short at offset " + pos);
            }
            int length = buf.getInt(pos);
            int crc = buf.getInt(pos + 4);
            if (length < MIN_PAYLOAD || length > MAX_RECORD) {
                if (allZero(bytes, pos)) {
                    return damage(scan, Damage.TORN_TAIL, "the file ends in zeros from offset " + pos);
                }
                return damage(scan, Damage.CORRUPT, "the record at offset " + pos + " has an impossible length " + length);
            }
            if (remaining < 8L + length) {
                return damage(scan, Damage.TORN_TAIL, "the last record (offset " + pos + ") is cut short");
            }
            boolean last = remaining == 8 + length;
            if (crc(bytes, pos, length) != crc) {
                return damage(scan, last ? Damage.TORN_TAIL : Damage.CORRUPT,
                        (last ? "the last record" : "the record") + " at offset " + pos + " fails its checksum");
            }
            try {
                apply(scan.intents, bytes, pos + 8, length);
            } catch (IOException | RuntimeException e) {
                return damage(scan, Damage.CORRUPT, "the record at offset " + pos + " cannot be read: " + e.getMessage());
            }
            scan.records++;
            pos += 8 + length;
            scan.good = pos;
        }
        return scan;
    }

    private static Scan damage(Scan scan, Damage damage, String detail) {
        scan.damage = damage;
        scan.detail = detail;
        return scan;
    }

    private static void apply(Map<UUID, Intent> intents, byte[] bytes, int offset, int length) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes, offset, length));
        byte type = in.readByte();
        UUID id = new UUID(in.readLong(), in.readLong());
        switch (type) {
            case BEGIN -> {
                String kind = in.readUTF();
                List<KeyId> keys = new ArrayList<>();
                for (String k : list(in)) {
                    keys.add(KeyId.parse(k));
                }
                Map<String, String> params = map(in);
                List<String> steps = list(in);
                intents.put(id, Intent.begun(id, kind, keys, params, steps));
            }
            case STEP_DONE -> {
                int step = in.readInt();
                Map<String, String> notes = map(in);
                intents.computeIfPresent(id, (k, intent) -> intent.withStepDone(step, notes));
            }
            case END -> {
                int outcome = in.readUnsignedByte();
                if (outcome >= Outcome.values().length) {
                    throw new IOException("unknown outcome " + outcome);
                }
                intents.remove(id);
            }
            default -> throw new IOException("unknown record type " + type);
        }
        if (in.available() != 0) {
            throw new IOException(in.available() + " bytes follow the record's fields");
        }
    }

    // --------------------------------------------------------------- writing

    /**
     * Writes a record through to the operating system (it survives a killed process); returns the
     * logical offset (bytes ever appended) at its end, for {@link #force(long)}. Called under lock.
     */
    private long append(byte[] payload) {
        if (settings == null) {
            return 0;
        }
        ByteBuffer record = frame(payload);
        try {
            if (channel == null) {
                throw new IOException("the journal is closed");
            }
            while (record.hasRemaining()) {
                channel.write(record);
            }
            size += record.limit();
            appended += record.limit();
            return appended;
        } catch (IOException e) {
            throw new UnavailableException("the intent journal " + settings.file() + " cannot be written: "
                    + e.getMessage(), null, e);
        }
    }

    /**
     * Forces the file to disk up to (at least) a logical offset: group commit. Called without the
     * journal lock, so that operations append while one thread waits for the disk; one force covers
     * every record written before it began, so concurrent operations share it.
     */
    private void force(long upTo) {
        if (settings == null) {
            return;
        }
        synchronized (forceLock) {
            if (forcedTo >= upTo) {
                return; // another thread's force covered this record
            }
            long target = appended; // every record whose write has returned is in the OS: the force covers it
            FileChannel ch = channel;
            try {
                if (ch != null) {
                    ch.force(true);
                    forcedTo = Math.max(forcedTo, target);
                    return;
                }
                // null: a compaction is replacing the file, or the journal was closed (below)
            } catch (java.nio.channels.ClosedChannelException replaced) {
                // closed under us: by a compaction (below) or by close()
            } catch (IOException e) {
                throw new UnavailableException("the intent journal " + settings.file() + " cannot be forced to disk: "
                        + e.getMessage(), null, e);
            }
        }
        // A compaction runs under the journal lock and forces the new file before it releases it:
        // wait for it (never holding forceLock, which the compaction takes), then see what it covered.
        synchronized (lock) {
            // nothing: a barrier
        }
        synchronized (forceLock) {
            if (forcedTo >= upTo) {
                return;
            }
        }
        throw new UnavailableException("the intent journal " + settings.file() + " was closed", null, null);
    }

    /** Replaces the file, atomically, by one holding the header and the open intents. */
    private void rewrite(Path file) throws IOException {
        closeQuietly();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        long written;
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer header = ByteBuffer.wrap(MAGIC);
            while (header.hasRemaining()) {
                out.write(header);
            }
            for (Intent intent : open.values()) {
                writeFully(out, frame(beginPayload(intent)));
                for (int step : intent.done()) {
                    // the notes are merged into one record per step; replay merges them again in order
                    Map<String, String> notes = step == intent.done().last() ? intent.notes() : Map.of();
                    writeFully(out, frame(stepPayload(intent.id(), step, notes)));
                }
            }
            out.force(true);
            written = out.size();
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(file.toAbsolutePath().getParent());
        channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
        channel.position(written);
        size = written;
        synchronized (forceLock) {
            forcedTo = appended; // everything still relevant is in the new file, which was forced
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /** Makes a rename durable (on file systems that allow a directory to be opened; elsewhere a no-op). */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // not supported here (e.g. Windows): the rename is as durable as the platform makes it
        }
    }

    private void closeQuietly() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing is buffered: every record was written through
            }
            channel = null;
        }
    }

    static ByteBuffer frame(byte[] payload) {
        if (payload.length > MAX_RECORD) {
            throw new IllegalArgumentException("a journal record is limited to " + MAX_RECORD + " bytes");
        }
        ByteBuffer record = ByteBuffer.allocate(8 + payload.length).order(ByteOrder.BIG_ENDIAN);
        record.putInt(payload.length);
        byte[] length = Arrays.copyOf(record.array(), 4);
        CRC32C crc = new CRC32C();
        crc.update(length);
        crc.update(payload);
        record.putInt((int) crc.getValue());
        record.put(payload);
        record.flip();
        return record;
    }

    private static int crc(byte[] bytes, int pos, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, pos, 4);
        crc.update(bytes, pos + 8, length);
        return (int) crc.getValue();
    }

    private static boolean allZero(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static byte[] beginPayload(Intent intent) {
        return payload(out -> {
            out.writeByte(BEGIN);
            uuid(out, intent.id());
            out.writeUTF(intent.kind());
            List<String> keys = new ArrayList<>();
            intent.keys().forEach(k -> keys.add(k.toString()));
            list(out, keys);
            map(out, intent.params());
            list(out, intent.steps());
        });
    }

    private static byte[] stepPayload(UUID id, int step, Map<String, String> notes) {
        return payload(out -> {
            out.writeByte(STEP_DONE);
            uuid(out, id);
            out.writeInt(step);
            map(out, notes);
        });
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] payload(Writer writer) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            writer.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: cannot happen, but a too-long string lands here
        }
        return bytes.toByteArray();
    }

    private static void uuid(DataOutputStream out, UUID id) throws IOException {
        out.writeLong(id.getMostSignificantBits());
        out.writeLong(id.getLeastSignificantBits());
    }

    private static void list(DataOutputStream out, List<String> items) throws IOException {
        out.writeInt(items.size());
        for (String item : items) {
            out.writeUTF(item);
        }
    }

    private static void map(DataOutputStream out, Map<String, String> map) throws IOException {
        out.writeInt(map.size());
        for (Map.Entry<String, String> e : new TreeMap<>(map).entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
    }

    private static List<String> list(DataInputStream in) throws IOException {
        int n = count(in);
        List<String> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            items.add(in.readUTF());
        }
        return items;
    }

    private static Map<String, String> map(DataInputStream in) throws IOException {
        int n = count(in);
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            map.put(in.readUTF(), in.readUTF());
        }
        return map;
    }

    private static int count(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_RECORD) {
            throw new EOFException("impossible count " + n);
        }
        return n;
    }
}
