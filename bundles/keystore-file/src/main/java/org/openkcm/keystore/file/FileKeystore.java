package org.openkcm.keystore.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.secrets.BoundedRead;
import org.openkcm.keystore.secrets.FileRefusedException;
import org.osgi.service.log.Logger;

/**
 * A {@link Keystore} that keeps each key version in a file of its own under a root folder:
 * {@code <root>/<owner kind>/<owner id>/<key name>/<version>.rec}, in the checksummed
 * {@link RecordFormat}.
 * <p>
 * <b>Durability.</b> Every write goes to a temporary file in the key's folder, which is forced to
 * disk ({@link FileChannel#force(boolean)}), moved over the key's file atomically
 * ({@link StandardCopyOption#ATOMIC_MOVE}), and then the folder is forced too; a delete removes
 * the file and forces the folder. A call returns only after that, so an acknowledged store
 * survives a crash of the process or the machine, and a reader never sees half a file. Temporary
 * files a crash left behind are never read, and are removed when the folder is next opened.
 * <p>
 * <b>Damage.</b> A file that fails its checks (torn, bit-flipped, truncated, moved to another
 * key's place) is never accepted: reading that key is an {@link IntegrityException} naming the key
 * and the reason; it is not listed; storing over it is refused with the same exception; deleting
 * it removes the file. So a damaged record is visible as damaged, never silently absent and never
 * returned.
 * <p>
 * <b>One runtime per folder.</b> While open, the instance holds an exclusive lock on
 * {@code <root>/.lock} ({@link FileChannel#tryLock()}); another process, or another instance in
 * this JVM, that opens the same folder is refused. Being the only writer, the instance keeps the
 * metadata of every key in memory (read once, at open): lists need no disk access, and reads one
 * file.
 * <p>
 * <b>Concurrency.</b> Writes of one key name are serialised by a striped lock (a folder per name
 * is created and removed under it); reads take no lock. Stores are create-only with idempotent
 * identical retries; updates and rewraps compare and set on the revision under the same lock.
 */
public final class FileKeystore implements Keystore, AutoCloseable {
    static final String LOCK_FILE = ".lock";
    static final String SUFFIX = ".rec";
    static final String TEMP_MARK = ".tmp-";
    private static final Pattern RECORD_FILE = Pattern.compile("[1-9][0-9]{0,8}\\.rec");
    private static final int STRIPES = 64;
    /** The largest record file read: a sealed record ({@code Validation.MAX_SEALED_BYTES}) and its metadata fit well below. */
    static final int MAX_RECORD_FILE_BYTES = 1 << 20;

    /** The folders open in this JVM (real paths), so a second instance never touches the lock file. */
    private static final Map<Path, FileKeystore> OPEN = new ConcurrentHashMap<>();
    /**
     * Channels of refused attempts that met a lock held through another class loader of this JVM:
     * closing them would release that lock (POSIX locks belong to the process), so they stay open.
     */
    private static final List<FileChannel> KEPT_OPEN = Collections.synchronizedList(new ArrayList<>());

    private final Path root;
    private final String name;
    private final Set<KeyType> tiers;
    private final Logger logger;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final ConcurrentSkipListMap<KeyId, Entry> index = new ConcurrentSkipListMap<>();
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final AtomicLong tempCounter = new AtomicLong();
    private volatile boolean closed;

    /**
     * Opens (creating it if absent) the folder, takes its lock and reads every record's metadata.
     *
     * @param logger where damaged files and cleaned leftovers are reported; null for nowhere
     * @throws UnavailableException if the folder cannot be created or read, or another runtime holds it
     */
    public FileKeystore(Path root, String name, Set<KeyType> tiers, Logger logger) {
        this.name = Validation.identifier("keystore.name", name, Validation.MAX_NAME_LENGTH);
        this.tiers = Collections.unmodifiableSet(EnumSet.copyOf(tiers));
        this.logger = logger;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
        Path real = createRoot(root);
        this.root = real;
        FileKeystore holder = OPEN.putIfAbsent(real, this);
        if (holder != null) {
            throw inUse(real, "another keystore instance of this runtime ('" + holder.name + "') has it open");
        }
        FileChannel channel = null;
        FileLock acquired = null;
        try {
            channel = FileChannel.open(real.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            try {
                acquired = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                KEPT_OPEN.add(channel);
                channel = null;
                throw inUse(real, "this JVM already holds its lock");
            }
            if (acquired == null) {
                String holderInfo = readHolder(channel);
                throw inUse(real, "another process holds its lock" + (holderInfo.isEmpty() ? "" : " (" + holderInfo + ")"));
            }
            writeHolder(channel);
            this.lockChannel = channel;
            this.lock = acquired;
            scan();
        } catch (IOException | RuntimeException e) {
            index.clear();
            closeQuietly(acquired, channel);
            OPEN.remove(real, this);
            if (e instanceof KeystoreException) {
                throw (KeystoreException) e;
            }
            throw new UnavailableException("cannot open the key folder " + real + ": " + e, null, e);
        }
    }

    /** The root folder (its real path). */
    public Path root() {
        return root;
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        Validation.storeRequest(id, sealed, metadata);
        checkOpen();
        if (!tiers.contains(metadata.type())) {
            throw new PolicyRefusedException(id, "the file keystore '" + name + "' does not accept tier "
                    + metadata.type() + " (keystore.tiers=" + tiers + ")");
        }
        ReentrantLock stripe = stripe(id);
        stripe.lock();
        try {
            checkOpen();
            Entry existing = index.get(id);
            if (existing != null) {
                existing.checkIntact(id);
                if (!existing.metadata.equals(metadata)) {
                    throw new KeyExistsException(id);
                }
                if (!read(id, existing).sealed().equals(sealed)) {
                    throw new KeyExistsException(id);
                }
                return; // an identical retry
            }
            Path file = file(id, metadata.owner());
            write(id, file, RecordFormat.encode(sealed, metadata), true);
            index.put(id, new Entry(file, metadata, null));
        } finally {
            stripe.unlock();
        }
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        Validation.required("keyId", id);
        checkOpen();
        Entry entry = index.get(id);
        if (entry == null) {
            throw notFound(id);
        }
        entry.checkIntact(id);
        return read(id, entry);
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        Validation.required("keyId", id);
        Validation.required("metadata", metadata);
        checkOpen();
        ReentrantLock stripe = stripe(id);
        stripe.lock();
        try {
            checkOpen();
            Entry entry = index.get(id);
            if (entry == null) {
                throw notFound(id);
            }
            entry.checkIntact(id);
            Validation.metadataUpdate(entry.metadata, metadata);
            StoredKey stored = read(id, entry);
            write(id, entry.file, RecordFormat.encode(stored.sealed(), metadata), false);
            index.put(id, new Entry(entry.file, metadata, null));
            return metadata;
        } finally {
            stripe.unlock();
        }
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        Validation.required("keyId", id);
        Validation.required("sealed", sealed);
        checkOpen();
        ReentrantLock stripe = stripe(id);
        stripe.lock();
        try {
            checkOpen();
            Entry entry = index.get(id);
            if (entry == null) {
                throw notFound(id);
            }
            entry.checkIntact(id);
            Validation.rewrap(entry.metadata, expectedRevision);
            write(id, entry.file, RecordFormat.encode(sealed, entry.metadata), false);
        } finally {
            stripe.unlock();
        }
    }

    @Override
    public boolean deleteKey(KeyId id) {
        Validation.required("keyId", id);
        checkOpen();
        ReentrantLock stripe = stripe(id);
        stripe.lock();
        try {
            checkOpen();
            Entry entry = index.get(id);
            if (entry == null) {
                return false;
            }
            Path folder = entry.file.getParent();
            try {
                Files.deleteIfExists(entry.file);
                force(folder);
            } catch (IOException e) {
                throw new UnavailableException("cannot delete " + entry.file + ": " + e.getMessage(), id, e);
            }
            index.remove(id);
            removeIfEmpty(folder);
            return true;
        } finally {
            stripe.unlock();
        }
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        Validation.required("filter", filter);
        checkOpen();
        NavigableMap<KeyId, Entry> from = filter.cursor()
                .<NavigableMap<KeyId, Entry>>map(cursor -> index.tailMap(KeyPage.positionOf(cursor), false))
                .orElse(index);
        return KeyPage.select(() -> from.values().stream()
                .filter(entry -> entry.damage == null)
                .map(entry -> entry.metadata)
                .iterator(), filter);
    }

    @Override
    public KeystoreHealth health() {
        long start = System.nanoTime();
        String problem = null;
        if (closed) {
            problem = "closed";
        } else if (!Files.isDirectory(root)) {
            problem = "the key folder " + root + " is gone";
        } else if (!Files.isReadable(root) || !Files.isWritable(root)) {
            problem = "the key folder " + root + " is not readable and writable";
        } else if (!lock.isValid()) {
            problem = "the lock on " + root.resolve(LOCK_FILE) + " was lost";
        }
        Duration latency = Duration.ofNanos(System.nanoTime() - start);
        return problem == null ? KeystoreHealth.up(latency) : KeystoreHealth.down(latency, problem);
    }

    /** Releases the folder's lock; every later call is refused as unavailable. Waits for writes under way. */
    @Override
    public void close() {
        for (ReentrantLock stripe : stripes) {
            stripe.lock();
        }
        try {
            if (closed) {
                return;
            }
            closed = true;
            index.clear();
            closeQuietly(lock, lockChannel);
            OPEN.remove(root, this);
        } finally {
            for (ReentrantLock stripe : stripes) {
                stripe.unlock();
            }
        }
    }

    @Override
    public String toString() {
        return "FileKeystore[" + name + ", " + root + ", " + index.size() + " keys" + (closed ? ", closed" : "") + "]";
    }

    /** The number of key versions held (damaged ones included). */
    int size() {
        return index.size();
    }

    /**
     * The file of a key version. Every segment is an identifier by the api's rules (checked again
     * here), so the path cannot leave the root; that is verified too.
     */
    Path file(KeyId id, Owner owner) {
        String ownerId = Validation.ownerId(owner.id());
        String keyName = Validation.keyName(id.name());
        Path file = root.resolve(owner.kind().label()).resolve(ownerId).resolve(keyName)
                .resolve(Validation.version(id.version()) + SUFFIX);
        if (!file.normalize().equals(file) || !file.startsWith(root) || file.getNameCount() != root.getNameCount() + 4) {
            throw new InvalidInputException("keyId", "does not map to a file inside the key folder", id);
        }
        return file;
    }

    // ---- reading and writing files ----

    private StoredKey read(KeyId id, Entry entry) {
        byte[] bytes;
        try {
            bytes = BoundedRead.bytes(entry.file, MAX_RECORD_FILE_BYTES, BoundedRead.Links.REFUSE);
        } catch (NoSuchFileException e) {
            throw notFound(id); // deleted since the lookup
        } catch (IOException e) {
            throw new UnavailableException("cannot read " + entry.file + ": " + e.getMessage(), id, e);
        }
        StoredKey stored;
        try {
            stored = RecordFormat.decode(bytes);
        } catch (RecordFormat.Damaged e) {
            throw new IntegrityException(id, "its file " + entry.file + " is damaged: " + e.getMessage());
        }
        if (!stored.metadata().id().equals(id) || !stored.metadata().owner().equals(entry.metadata.owner())) {
            throw new IntegrityException(id, "its file " + entry.file + " holds the record of another key ("
                    + stored.metadata().id() + ")");
        }
        return stored;
    }

    /**
     * Writes the file durably and atomically: a temporary file in the same folder, forced, moved
     * over the target, then the folder forced.
     */
    private void write(KeyId id, Path file, byte[] content, boolean createFolders) {
        Path folder = file.getParent();
        Path temp = folder.resolve(file.getFileName() + TEMP_MARK + Long.toUnsignedString(System.nanoTime(), 36)
                + "-" + tempCounter.incrementAndGet());
        try {
            if (createFolders) {
                createFolder(folder);
            }
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
            force(folder);
        } catch (IOException e) {
            throw new UnavailableException("cannot write " + file + ": " + e.getMessage(), id, e);
        } finally {
            java.util.Arrays.fill(content, (byte) 0);
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                warn("cannot remove the temporary file {}: {}", temp, e.getMessage());
            }
        }
    }

    /** Creates the folder and any missing parent below the root, forcing each parent that gained an entry. */
    private void createFolder(Path folder) throws IOException {
        if (Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path parent = folder.getParent();
        if (!parent.equals(root)) {
            createFolder(parent);
        }
        try {
            Files.createDirectory(folder);
        } catch (FileAlreadyExistsException raced) {
            if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
                throw raced;
            }
            return;
        }
        force(parent);
    }

    /** Removes a key name's folder once its last version is gone (called under the name's stripe). */
    private void removeIfEmpty(Path nameFolder) {
        try {
            Files.delete(nameFolder);
            force(nameFolder.getParent());
        } catch (DirectoryNotEmptyException | NoSuchFileException stillUsed) {
            // other versions, or another owner's, live there
        } catch (IOException e) {
            warn("cannot remove the empty folder {}: {}", nameFolder, e.getMessage());
        }
    }

    private static void force(Path folder) throws IOException {
        try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    // ---- opening ----

    private static Path createRoot(Path root) {
        try {
            Path absolute = root.toAbsolutePath().normalize();
            if (!Files.isDirectory(absolute)) {
                try {
                    Files.createDirectories(absolute, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } catch (UnsupportedOperationException notPosix) {
                    Files.createDirectories(absolute);
                }
            }
            return absolute.toRealPath();
        } catch (IOException e) {
            throw new UnavailableException("cannot create the key folder " + root + ": " + e, null, e);
        }
    }

    private static UnavailableException inUse(Path root, String why) {
        return new UnavailableException("the key folder " + root + " is in use by another keystore runtime: " + why
                + "; a folder serves one runtime at a time (give each its own path)");
    }

    private static String readHolder(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(256);
            channel.read(buffer, 0);
            return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static void writeHolder(FileChannel channel) throws IOException {
        byte[] holder = ("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(holder), 0);
    }

    private static void closeQuietly(FileLock lock, FileChannel channel) {
        try {
            if (lock != null && lock.isValid()) {
                lock.release();
            }
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    /**
     * Reads the metadata of every record file, removes temporary leftovers, and records damaged
     * files as such (by the id their path names).
     */
    private void scan() throws IOException {
        int damaged = 0;
        int cleaned = 0;
        try (DirectoryStream<Path> kinds = Files.newDirectoryStream(root)) {
            for (Path kindFolder : kinds) {
                String kindName = kindFolder.getFileName().toString();
                if (kindName.equals(LOCK_FILE)) {
                    continue;
                }
                OwnerKind kind = kindOf(kindName);
                if (kind == null || !Files.isDirectory(kindFolder, LinkOption.NOFOLLOW_LINKS)) {
                    warn("ignoring {}: not an owner-kind folder of the file keystore", kindFolder);
                    continue;
                }
                try (DirectoryStream<Path> owners = Files.newDirectoryStream(kindFolder)) {
                    for (Path ownerFolder : owners) {
                        Owner owner = ownerOf(kind, ownerFolder);
                        if (owner == null) {
                            continue;
                        }
                        try (DirectoryStream<Path> names = Files.newDirectoryStream(ownerFolder)) {
                            for (Path nameFolder : names) {
                                String keyName = identifierOf(nameFolder);
                                if (keyName == null) {
                                    continue;
                                }
                                try (DirectoryStream<Path> files = Files.newDirectoryStream(nameFolder)) {
                                    for (Path file : files) {
                                        switch (load(owner, keyName, file)) {
                                            case DAMAGED -> damaged++;
                                            case CLEANED -> cleaned++;
                                            default -> { }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if (cleaned > 0) {
            info("file keystore '{}': removed {} temporary file(s) an interrupted write left in {}", name, cleaned, root);
        }
        if (damaged > 0) {
            warn("file keystore '{}': {} damaged record file(s) in {}: reading those keys fails with an integrity "
                    + "error until they are deleted or restored", name, damaged, root);
        }
    }

    private enum Loaded { OK, DAMAGED, CLEANED, IGNORED }

    private Loaded load(Owner owner, String keyName, Path file) throws IOException {
        String fileName = file.getFileName().toString();
        if (fileName.contains(TEMP_MARK)) {
            Files.deleteIfExists(file);
            return Loaded.CLEANED;
        }
        if (!RECORD_FILE.matcher(fileName).matches() || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            warn("ignoring {}: not a record file of the file keystore", file);
            return Loaded.IGNORED;
        }
        KeyId id = KeyId.of(keyName, Integer.parseInt(fileName.substring(0, fileName.length() - SUFFIX.length())));
        String damage = null;
        KeyMetadata metadata = null;
        try {
            StoredKey stored = RecordFormat.decode(BoundedRead.bytes(file, MAX_RECORD_FILE_BYTES, BoundedRead.Links.REFUSE));
            metadata = stored.metadata();
            if (!metadata.id().equals(id) || !metadata.owner().equals(owner)) {
                damage = "its file " + file + " holds the record of another key (" + metadata.id() + " of "
                        + metadata.owner() + ")";
            }
        } catch (RecordFormat.Damaged e) {
            damage = "its file " + file + " is damaged: " + e.getMessage();
        } catch (FileRefusedException e) {
            damage = "its file is refused: " + e.getMessage(); // too large to be a record: never read into memory
        }
        Entry previous = index.get(id);
        if (previous != null) {
            damage = "it is stored twice, in " + previous.file + " and " + file;
        }
        if (damage != null) {
            warn("file keystore '{}': key {}: {}", name, id, damage);
            index.put(id, new Entry(file, metadata, damage));
            return Loaded.DAMAGED;
        }
        index.put(id, new Entry(file, metadata, null));
        return Loaded.OK;
    }

    private Owner ownerOf(OwnerKind kind, Path folder) {
        String id = identifierOf(folder);
        return id == null ? null : Owner.of(kind, id);
    }

    private String identifierOf(Path folder) {
        String segment = folder.getFileName().toString();
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            warn("ignoring {}: not a folder of the file keystore", folder);
            return null;
        }
        try {
            return Validation.identifier("folder", segment, Validation.MAX_NAME_LENGTH);
        } catch (InvalidInputException e) {
            warn("ignoring {}: its name is not a valid identifier", folder);
            return null;
        }
    }

    private static OwnerKind kindOf(String label) {
        for (OwnerKind kind : OwnerKind.values()) {
            if (kind.label().equals(label)) {
                return kind;
            }
        }
        return null;
    }

    // ---- small helpers ----

    private ReentrantLock stripe(KeyId id) {
        return stripes[Math.floorMod(id.name().hashCode(), STRIPES)];
    }

    private void checkOpen() {
        if (closed) {
            throw closedException();
        }
    }

    private KeystoreException notFound(KeyId id) {
        return closed ? closedException() : new KeyNotFoundException(id);
    }

    private UnavailableException closedException() {
        return new UnavailableException("the file keystore '" + name + "' is closed");
    }

    private void warn(String format, Object... args) {
        if (logger != null) {
            logger.warn(format, args);
        }
    }

    private void info(String format, Object... args) {
        if (logger != null) {
            logger.info(format, args);
        }
    }

    /** What the index knows of one key version: its file and metadata, or why its file is refused. */
    private static final class Entry {
        final Path file;
        final KeyMetadata metadata;
        final String damage;

        Entry(Path file, KeyMetadata metadata, String damage) {
            this.file = file;
            this.metadata = metadata;
            this.damage = damage;
        }

        void checkIntact(KeyId id) {
            if (damage != null) {
                throw new IntegrityException(id, damage);
            }
        }
    }
}
