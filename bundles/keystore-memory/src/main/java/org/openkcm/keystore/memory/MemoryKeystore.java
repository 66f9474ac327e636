package org.openkcm.keystore.memory;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Map;
import java.util.NavigableSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

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
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * A {@link Keystore} that holds sealed records in memory, in {@link KeyId} order. Each factory
 * configuration of {@value #PID} is one instance, registered with the configured
 * {@code keystore.name}, {@code keystore.tiers}, {@code keystore.regions} and
 * {@code service.ranking}. It is also a plain object: {@code new MemoryKeystore()} is an
 * instance named {@value #DEFAULT_NAME} that accepts every tier and holds at most
 * {@value #DEFAULT_MAX_ENTRIES} keys.
 * <p>
 * The instance keeps its own copy of every record and overwrites it with zeros when the key is
 * deleted, when a rewrap replaces it, and when the component is deactivated, which also empties
 * the store: nothing here survives a restart. The component is immediate, so a configured
 * instance lives (and keeps its keys) as long as its configuration, not as long as its callers.
 * <p>
 * Every operation is atomic on the map (put-if-absent, compute, compare-and-replace): concurrent
 * callers never lose an update, and the entry bound is never exceeded.
 */
@Component(
        configurationPid = MemoryKeystore.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = Keystore.class,
        // Volatile: the router never makes it the default home of L2/L3 keys (KeystoreProperties.PERSISTENT).
        property = KeystoreProperties.PERSISTENT + ":Boolean=false",
        immediate = true)
@Designate(ocd = MemoryKeystore.Config.class, factory = true)
public final class MemoryKeystore implements Keystore {

    /** The factory PID of the in-memory backend's configurations. */
    public static final String PID = "org.openkcm.keystore.memory";
    public static final String DEFAULT_NAME = "memory";
    public static final int DEFAULT_MAX_ENTRIES = 1_000_000;

    @ObjectClassDefinition(
            name = "OpenKCM Keystore in-memory backend",
            description = "One in-memory keystore per configuration. Keys live only as long as the "
                    + "configuration and the bundle: they are wiped when either goes.")
    public @interface Config {

        @AttributeDefinition(
                name = "Name",
                description = "The keystore.name routes use to target this instance; stable across upgrades. "
                        + "Letters, digits, '.', '_' and '-', starting with a letter or digit.")
        String keystore_name() default DEFAULT_NAME;

        @AttributeDefinition(
                name = "Tiers",
                description = "The key tiers this instance accepts; a store of any other tier is refused.",
                options = {
                        @Option(label = "L2 (tenant keys)", value = "L2"),
                        @Option(label = "L3 (service keys)", value = "L3"),
                        @Option(label = "L4 (data keys)", value = "L4")})
        String[] keystore_tiers() default {"L2", "L3", "L4"};

        @AttributeDefinition(
                name = "Regions",
                description = "The regions this instance serves, for routing; none means no region preference.",
                required = false)
        String[] keystore_regions() default {};

        @AttributeDefinition(
                name = "Service ranking",
                description = "Among backends that match the same route, the higher ranking is chosen.")
        int service_ranking() default 0;

        @AttributeDefinition(
                name = "Maximum entries",
                description = "The most key versions this instance holds; a store beyond it is refused by policy.",
                min = "1")
        int maxEntries() default DEFAULT_MAX_ENTRIES;
    }

    /**
     * The records, by id: a hash map, so that a read costs the same with a million keys as with a
     * thousand (a skip list walked some twenty levels of scattered nodes per lookup at a million).
     */
    private final ConcurrentHashMap<KeyId, Record> records = new ConcurrentHashMap<>();
    /**
     * The ids of {@link #records} in {@link KeyId} order, for listing. An id is added and removed only
     * inside the map's atomic update of that id, so the two never disagree for longer than that update.
     */
    private final ConcurrentSkipListSet<KeyId> order = new ConcurrentSkipListSet<>();
    /** The number of entries in {@link #records}, or reserved for an insert under way. */
    private final AtomicInteger entries = new AtomicInteger();
    private volatile Settings settings;
    /** Why the last {@code @Modified} configuration was rejected; null while the configuration in force is the one registered. */
    private volatile String rejectedConfiguration;
    private volatile boolean closed;

    /** An instance with the default settings, outside any framework. */
    public MemoryKeystore() {
        this(DEFAULT_MAX_ENTRIES);
    }

    /**
     * An instance with the default settings and the given bound, outside any framework.
     *
     * @throws InvalidInputException if {@code maxEntries} is less than 1
     */
    public MemoryKeystore(int maxEntries) {
        this.settings = new Settings(DEFAULT_NAME, EnumSet.allOf(KeyType.class), maxEntries(maxEntries));
    }

    /** @throws InvalidInputException naming the attribute of the configuration that is wrong */
    @Activate
    void activate(Config config) {
        settings = Settings.of(config);
    }

    /**
     * Applies a changed configuration and keeps every key. A configuration that breaks a rule is
     * refused: this instance goes on with the settings it had, and reports itself down until a
     * valid configuration arrives, because its service properties (which Declarative Services
     * updates whatever this method says) no longer describe what it enforces.
     */
    @Modified
    void modified(Config config) {
        try {
            settings = Settings.of(config);
            rejectedConfiguration = null;
        } catch (InvalidInputException e) {
            rejectedConfiguration = e.getMessage();
            throw e;
        }
    }

    /** Overwrites every record with zeros and empties the store; every later call is refused as unavailable. */
    @Deactivate
    void deactivate() {
        closed = true;
        for (KeyId id : records.keySet()) {
            Record removed = remove(id);
            if (removed != null) {
                entries.decrementAndGet();
                removed.wipe();
            }
        }
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        Validation.storeRequest(id, sealed, metadata);
        checkOpen();
        Settings current = settings;
        if (!current.tiers.contains(metadata.type())) {
            throw new PolicyRefusedException(id, "the in-memory keystore '" + current.name + "' does not accept tier "
                    + metadata.type() + " (keystore.tiers=" + current.tiers + ")");
        }
        Record candidate = new Record(sealed.bytes(), metadata);
        try {
            while (true) {
                Record existing = records.get(id);
                if (existing != null) {
                    Match match = existing.match(candidate);
                    if (match == Match.IDENTICAL) {
                        return;
                    }
                    if (match == Match.DIFFERENT) {
                        throw new KeyExistsException(id);
                    }
                    continue; // deleted or rewrapped while we compared: look again
                }
                if (!reserveEntry()) {
                    throw new PolicyRefusedException(id, "the in-memory keystore '" + current.name
                            + "' is full: it holds at most maxEntries=" + current.maxEntries + " keys");
                }
                if (putIfAbsent(id, candidate) != null) {
                    entries.decrementAndGet();
                    continue; // a concurrent store won: an identical retry or a conflict
                }
                if (closed && remove(id, candidate)) {
                    // deactivated while storing, and its wipe ran before this insert
                    entries.decrementAndGet();
                    throw deactivated();
                }
                candidate = null; // stored: the store owns its bytes now
                return;
            }
        } finally {
            if (candidate != null) {
                candidate.wipe();
            }
        }
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        Validation.required("keyId", id);
        checkOpen();
        while (true) {
            Record record = records.get(id);
            if (record == null) {
                throw notFound(id);
            }
            SealedKey sealed = record.toSealedKey();
            if (sealed != null) {
                return StoredKey.of(sealed, record.metadata);
            }
            // wiped by a delete or a rewrap since the lookup: look again
        }
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        Validation.required("keyId", id);
        Validation.required("metadata", metadata);
        checkOpen();
        Record[] replaced = new Record[1];
        Record updated = records.compute(id, (key, stored) -> {
            if (stored == null) {
                throw notFound(id);
            }
            Validation.metadataUpdate(stored.metadata, metadata);
            Record next = stored.withMetadata(metadata);
            replaced[0] = stored;
            return next;
        });
        replaced[0].wipe(); // the store holds the copy now; a reader of the old record looks again
        return updated.metadata;
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        Validation.required("keyId", id);
        Validation.required("sealed", sealed);
        checkOpen();
        byte[] replacement = sealed.bytes();
        boolean done = false;
        try {
            while (!done) {
                Record stored = records.get(id);
                if (stored == null) {
                    throw notFound(id);
                }
                Validation.rewrap(stored.metadata, expectedRevision);
                if (records.replace(id, stored, new Record(replacement, stored.metadata))) {
                    stored.wipe();
                    done = true;
                }
            }
        } finally {
            if (!done) {
                Arrays.fill(replacement, (byte) 0);
            }
        }
    }

    @Override
    public boolean deleteKey(KeyId id) {
        Validation.required("keyId", id);
        checkOpen();
        Record removed = remove(id);
        if (removed == null) {
            return false;
        }
        entries.decrementAndGet();
        removed.wipe();
        return true;
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        Validation.required("filter", filter);
        checkOpen();
        NavigableSet<KeyId> from = filter.cursor()
                .<NavigableSet<KeyId>>map(cursor -> order.tailSet(KeyPage.positionOf(cursor), false))
                .orElse(order);
        // an id whose record is gone (deleted since) or not yet there (an insert under way) is skipped
        return KeyPage.select(() -> from.stream().map(records::get).filter(java.util.Objects::nonNull)
                .map(record -> record.metadata).iterator(), filter);
    }

    @Override
    public KeystoreHealth health() {
        long start = System.nanoTime();
        boolean open = !closed;
        // The probe: one read of the store's head, the cheapest operation every call relies on.
        order.isEmpty();
        Duration latency = Duration.ofNanos(System.nanoTime() - start);
        if (!open) {
            return KeystoreHealth.down(latency, "deactivated");
        }
        String rejected = rejectedConfiguration;
        if (rejected != null) {
            return KeystoreHealth.down(latency, "configuration rejected, still enforcing the previous one: " + rejected);
        }
        return KeystoreHealth.up(latency);
    }

    @Override
    public String toString() {
        return "MemoryKeystore[" + settings.name + ", " + entries.get() + " keys" + (closed ? ", deactivated" : "") + "]";
    }

    /** Inserts the record if the id has none, and lists the id; returns the record already there, else null. */
    private Record putIfAbsent(KeyId id, Record candidate) {
        Record[] existing = new Record[1];
        records.compute(id, (key, stored) -> {
            if (stored != null) {
                existing[0] = stored;
                return stored;
            }
            order.add(key);
            return candidate;
        });
        return existing[0];
    }

    /** Removes and unlists the id's record; returns it, or null if there was none. */
    private Record remove(KeyId id) {
        Record[] removed = new Record[1];
        records.computeIfPresent(id, (key, stored) -> {
            removed[0] = stored;
            order.remove(key);
            return null;
        });
        return removed[0];
    }

    /** Removes and unlists the id's record if it is still {@code expected}. */
    private boolean remove(KeyId id, Record expected) {
        boolean[] removed = new boolean[1];
        records.computeIfPresent(id, (key, stored) -> {
            if (stored != expected) {
                return stored;
            }
            removed[0] = true;
            order.remove(key);
            return null;
        });
        return removed[0];
    }

    /** The number of keys held. */
    int size() {
        return entries.get();
    }

    /**
     * The array this instance holds the key's sealed record in (not a copy), or null if the key
     * is not stored; only for tests that prove the array is wiped.
     */
    byte[] internalRecordBytes(KeyId id) {
        Record record = records.get(id);
        return record == null ? null : record.bytes;
    }

    private boolean reserveEntry() {
        int max = settings.maxEntries;
        while (true) {
            int n = entries.get();
            if (n >= max) {
                return false;
            }
            if (entries.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw deactivated();
        }
    }

    private KeystoreException notFound(KeyId id) {
        return closed ? deactivated() : new KeyNotFoundException(id);
    }

    private UnavailableException deactivated() {
        return new UnavailableException("the in-memory keystore '" + settings.name + "' is deactivated");
    }

    private static int maxEntries(int maxEntries) {
        if (maxEntries < 1) {
            throw new InvalidInputException("maxEntries", "must be at least 1");
        }
        return maxEntries;
    }

    /**
     * The validated configuration of one instance, as far as the instance enforces it; immutable,
     * swapped as a whole. The regions are only validated: they tell routes where this instance
     * serves, and every key is welcome whatever its region.
     */
    private static final class Settings {
        final String name;
        final Set<KeyType> tiers;
        final int maxEntries;

        Settings(String name, Set<KeyType> tiers, int maxEntries) {
            this.name = name;
            this.tiers = Collections.unmodifiableSet(tiers);
            this.maxEntries = maxEntries;
        }

        /** @throws InvalidInputException naming the first attribute that breaks a rule */
        static Settings of(Config config) {
            String name = Validation.identifier("keystore.name", config.keystore_name(), Validation.MAX_NAME_LENGTH);
            List<String> tierNames = KeystoreProperties.values(config.keystore_tiers());
            if (tierNames.isEmpty()) {
                throw new InvalidInputException("keystore.tiers", "must name at least one of " + allTiers());
            }
            Set<KeyType> tiers = EnumSet.noneOf(KeyType.class);
            for (int i = 0; i < tierNames.size(); i++) {
                tiers.add(tier("keystore.tiers[" + i + "]", tierNames.get(i)));
            }
            List<String> regions = KeystoreProperties.values(config.keystore_regions());
            for (int i = 0; i < regions.size(); i++) {
                Validation.identifier("keystore.regions[" + i + "]", regions.get(i), Validation.MAX_REGION_LENGTH);
            }
            return new Settings(name, tiers, maxEntries(config.maxEntries()));
        }

        private static KeyType tier(String field, String value) {
            for (KeyType type : KeyType.values()) {
                if (type.name().equals(value)) {
                    return type;
                }
            }
            throw new InvalidInputException(field, "must be one of " + allTiers());
        }

        private static String allTiers() {
            return Arrays.stream(KeyType.values()).map(Enum::name).collect(Collectors.joining(", "));
        }
    }

    private enum Match { IDENTICAL, DIFFERENT, GONE }

    /**
     * One stored key version: this instance's own copy of its sealed bytes, and its metadata. Never
     * changed in place but for the wipe: a metadata update stores a new record with a copy of the
     * bytes, so each array belongs to one record, and a record is wiped once the store no longer
     * holds it. A reader that finds its record wiped looks the key up again. The bytes live in the
     * record itself rather than in an object of their own, one pointer fewer to follow per read.
     */
    private static final class Record {
        final byte[] bytes;
        final KeyMetadata metadata;
        private boolean wiped;

        Record(byte[] bytes, KeyMetadata metadata) {
            this.bytes = bytes;
            this.metadata = metadata;
        }

        /** A record of the same bytes, copied, with other metadata. */
        synchronized Record withMetadata(KeyMetadata metadata) {
            if (wiped) {
                throw new IllegalStateException("a record in the store is never wiped");
            }
            return new Record(bytes.clone(), metadata);
        }

        synchronized SealedKey toSealedKey() {
            return wiped ? null : SealedKey.of(bytes);
        }

        /** Whether a store of {@code candidate}, not yet in the store, is an identical retry of this record. */
        synchronized Match match(Record candidate) {
            if (wiped) {
                return Match.GONE;
            }
            if (!metadata.equals(candidate.metadata)) {
                return Match.DIFFERENT;
            }
            // the candidate's bytes are held by the calling thread only
            return MessageDigest.isEqual(bytes, candidate.bytes) ? Match.IDENTICAL : Match.DIFFERENT;
        }

        synchronized void wipe() {
            Arrays.fill(bytes, (byte) 0);
            wiped = true;
        }
    }
}
