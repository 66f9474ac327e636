package org.openkcm.keystore.core.operations;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Supplier;

import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.journal.Intent;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.metrics.Measured;
import org.openkcm.keystore.core.metrics.Meter;
import org.openkcm.keystore.core.reconcile.Reconciler;
import org.openkcm.keystore.core.migration.Migrator;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.core.saga.KeystoreSagas;
import org.openkcm.keystore.core.saga.RecoveryReport;
import org.openkcm.keystore.core.saga.RecordMatch;
import org.openkcm.keystore.core.saga.SagaResult;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.sealing.KekChoice;
import org.openkcm.keystore.core.sealing.KekRewrapper;
import org.openkcm.keystore.core.sealing.SealingKeystore;
import org.osgi.framework.Constants;
import org.osgi.service.log.Logger;

/**
 * The {@link KeystoreOperations} service: validates input and applies the lifecycle rules, over
 * the sealing layer ({@link SealingKeystore}: the envelope, the lifecycle MAC, the rollback check),
 * which is over the routing layer (the {@link RoutingTable}, which sends each key to the backend the
 * routing policy names and remembers where it went). The administration (backends, routes,
 * migration, KEK re-wrap, reconciliation, cache counters) is
 * {@code org.openkcm.keystore.core.admin.Administration}, which works on this service's saga runner,
 * cache and sealing layer ({@link #shared()}).
 * <p>
 * The sealing layer reads for callers through the {@link KeyCache} (in a framework, the
 * component's; outside one, the caches given to {@link #cache}, or none), and every write through
 * it makes the caches forget the key it wrote before it returns. Multi-step operations (rotate,
 * generate with a parent, delete of all versions, KEK re-wrap) run as sagas ({@link KeystoreSagas})
 * over the sealing layer, journaled in the intent journal; operations a crash interrupted are
 * finished or undone by recovery, which starts at activation.
 * <p>
 * Plaintext handling: material lives in {@code byte[]} that are wiped in {@code finally} blocks,
 * or in a {@link KeyMaterial} handed to the caller; never in a {@code String}, a log line or an
 * exception message.
 */
public final class DefaultKeystoreOperations implements KeystoreOperations {
    static final int MAX_ATTEMPTS = 5;
    public static final int DEFAULT_WATERMARK_SIZE = 100_000;

    /** The key caches to read through; none (null) unless given. */
    private volatile Supplier<KeyCache> caches = () -> null;
    /** Runs the sagas; over a journal in memory until one is given. */
    private volatile SagaRunner runner = new SagaRunner(IntentJournal.inMemory(), null);

    /** The routing table, or a single backend, keys are stored in. */
    private volatile RoutingTable router;
    private volatile Keystore keystore;

    private volatile Supplier<List<Map.Entry<Map<String, Object>, KekProvider>>> kekProviders = List::of;
    /** The record of known KEKs, which pins each KEK's identity (in memory until another is given). */
    private volatile Supplier<KnownKeks> known;
    /** Every operation is timed and counted while there is a meter (in a framework, the metrics bundle's). */
    private volatile Supplier<Meter> meter = () -> null;
    private volatile Supplier<Logger> logger = () -> null;

    private volatile Duration reconcileGrace = Reconciler.DEFAULT_GRACE;
    private volatile Clock clock = Clock.systemUTC();
    private RandomSource random = RandomSource.secure();

    /** The KEKs that seal and open, chosen from the providers present now. */
    private final KekChoice keks = new KekChoice(() -> kekProviders.get(), this::knownKeks, this::logger);
    /**
     * The sealing layer over the routing layer: checked reads, authenticated metadata, the rollback
     * watermark; reads for callers through the key caches, which each of its writes makes forget the key.
     */
    private final SealingKeystore sealing = new SealingKeystore(this::keystore, keks, this::keyCache,
            this::recordLocation, this::logger, DEFAULT_WATERMARK_SIZE);
    /** The multi-step operations, over the sealing layer. */
    private final KeystoreSagas sagas = new KeystoreSagas(sealing,
            target -> KekRewrapper.runTo(target, keystore(), sealing, logger()), () -> clock.instant(), this::logger);

    /** Unconnected: give it a backend or a router, KEK providers, and the rest (see {@link OperationsComponent}). */
    DefaultKeystoreOperations() {
        KnownKeks inMemory = KnownKeks.inMemory();
        this.known = () -> inMemory;
    }

    /**
     * An instance outside a framework (tests, benchmarks): the given backend, and KEK providers
     * preferred first.
     */
    public static DefaultKeystoreOperations of(Keystore keystore, List<KekProvider> keks) {
        DefaultKeystoreOperations ops = new DefaultKeystoreOperations();
        ops.keystore = keystore;
        return ops.kekProviders(keks);
    }

    /** An instance outside a framework over a router (tests, benchmarks). */
    public static DefaultKeystoreOperations of(RoutingTable router, List<KekProvider> keks) {
        DefaultKeystoreOperations ops = of((Keystore) null, keks);
        ops.router = router;
        return ops;
    }

    // --------------------------------------------------------------- connections

    /** Routes every key through this routing table (in a framework, the tracker's). */
    DefaultKeystoreOperations routedBy(RoutingTable table) {
        this.router = table;
        return this;
    }

    /** The key caches to read through, asked at each call (in a framework, replaced when reconfigured). */
    DefaultKeystoreOperations cacheFrom(Supplier<KeyCache> caches) {
        this.caches = caches;
        return this;
    }

    /** The KEK providers with their service properties, asked at each call (in a framework, DS's list). */
    DefaultKeystoreOperations kekProvidersFrom(Supplier<List<Map.Entry<Map<String, Object>, KekProvider>>> providers) {
        this.kekProviders = providers;
        return this;
    }

    DefaultKeystoreOperations knownKeksFrom(Supplier<KnownKeks> known) {
        this.known = known;
        return this;
    }

    DefaultKeystoreOperations meterFrom(Supplier<Meter> meter) {
        this.meter = meter;
        return this;
    }

    DefaultKeystoreOperations loggerFrom(Supplier<Logger> logger) {
        this.logger = logger;
        return this;
    }

    /** {@code rollback.watermark.size}: a new watermark of this size (0: no rollback check). */
    DefaultKeystoreOperations watermarkSize(int size) {
        sealing.watermarkSize(size);
        return this;
    }

    /** {@code reconcile.grace.seconds}. */
    DefaultKeystoreOperations reconcileGrace(Duration grace) {
        this.reconcileGrace = grace;
        return this;
    }

    // --------------------------------------------------------------- seams for tests

    DefaultKeystoreOperations clock(Clock clock) {
        this.clock = clock;
        return this;
    }

    DefaultKeystoreOperations random(RandomSource random) {
        this.random = random;
        return this;
    }

    DefaultKeystoreOperations logger(Logger logger) {
        this.logger = () -> logger;
        return this;
    }

    private Logger logger() {
        return logger.get();
    }

    /** {@code seal.kek.id}. */
    public DefaultKeystoreOperations sealWith(String kekId) {
        keks.sealWith(kekId);
        return this;
    }

    /** {@code open.kek.ids} (empty: the default). */
    public DefaultKeystoreOperations openWith(List<String> kekIds) {
        keks.openWith(kekIds);
        return this;
    }

    /** The record of known KEKs. */
    public DefaultKeystoreOperations knownKeks(KnownKeks known) {
        this.known = () -> known;
        return this;
    }

    /** The record of known KEKs in use. */
    public KnownKeks knownKeks() {
        return known.get();
    }

    /** The key caches to read through (null: none). */
    public DefaultKeystoreOperations cache(KeyCache cache) {
        this.caches = () -> cache;
        return this;
    }

    /** The intent journal the sagas are journaled in. */
    public DefaultKeystoreOperations journal(IntentJournal journal) {
        this.runner = new SagaRunner(journal, logger());
        return this;
    }

    /** The saga runner (tests arm its crash point). */
    public DefaultKeystoreOperations runner(SagaRunner runner) {
        this.runner = runner;
        return this;
    }

    SagaRunner runner() {
        return runner;
    }

    /** Finishes the journal's unfinished operations now (recovery, as at activation). */
    public RecoveryReport recover() {
        return runner.recover(definitions());
    }

    /** Every saga recovery finishes: those of {@link #sagas()}, and a key's migration when there is a router. */
    List<org.openkcm.keystore.core.saga.Saga> definitions() {
        List<org.openkcm.keystore.core.saga.Saga> all = new ArrayList<>(sagas.definitions());
        RoutingTable r = router;
        if (r != null) {
            all.add(Migrator.saga(r, this::invalidate));
        }
        return all;
    }

    /** The saga definitions of the operations (for recovery outside a framework). */
    public KeystoreSagas sagas() {
        return sagas;
    }

    /** The key caches in use, or null. */
    public KeyCache keyCache() {
        return caches.get();
    }


    /** Replaces the KEK providers (preferred first), as DS does when the set of services changes. */
    public DefaultKeystoreOperations kekProviders(List<KekProvider> keks) {
        List<Map.Entry<Map<String, Object>, KekProvider>> entries = new ArrayList<>();
        for (int i = 0; i < keks.size(); i++) {
            entries.add(Map.entry(Map.of(Constants.SERVICE_RANKING, keks.size() - i, Constants.SERVICE_ID, (long) i),
                    keks.get(i)));
        }
        List<Map.Entry<Map<String, Object>, KekProvider>> given = List.copyOf(entries);
        this.kekProviders = () -> given;
        return this;
    }

    /** The parts the administration shares with these operations; see {@link SharedParts}. */
    public SharedParts shared() {
        return shared;
    }

    private final SharedParts shared = new SharedParts() {
        @Override
        public RoutingTable router() {
            return DefaultKeystoreOperations.this.router();
        }

        @Override
        public Optional<RoutingTable> routerIfAny() {
            return Optional.ofNullable(router);
        }

        @Override
        public SagaRunner runner() {
            return runner;
        }

        @Override
        public KeystoreSagas sagas() {
            return sagas;
        }

        @Override
        public SealingKeystore sealing() {
            return sealing;
        }

        @Override
        public KeyCache keyCache() {
            return DefaultKeystoreOperations.this.keyCache();
        }

        @Override
        public void invalidate(KeyId id) {
            DefaultKeystoreOperations.this.invalidate(id);
        }

        @Override
        public void invalidateAll() {
            DefaultKeystoreOperations.this.invalidateAll();
        }

        @Override
        public KnownKeks knownKeks() {
            return DefaultKeystoreOperations.this.knownKeks();
        }

        @Override
        public Logger logger() {
            return logger.get();
        }

        @Override
        public Meter meter() {
            return meter.get();
        }

        @Override
        public Clock clock() {
            return clock;
        }

        @Override
        public Duration reconcileGrace() {
            return reconcileGrace;
        }
    };

    // --------------------------------------------------------------- KeystoreOperations

    @Override
    public KeyMetadata generate(KeySpec spec) {
        return Measured.operation(meter.get(), "generate", () -> generateNow(spec));
    }

    private KeyMetadata generateNow(KeySpec spec) {
        Validation.required("spec", spec);
        String algorithm = Algorithms.check(spec.algorithm(), spec.keySize());
        byte[] material = new byte[spec.keySize() / 8];
        try {
            random.nextBytes(material);
            return store(spec, algorithm, material);
        } finally {
            Bytes.wipe(material);
        }
    }

    @Override
    public KeyMetadata importKey(KeySpec spec, KeyMaterial material) {
        return Measured.operation(meter.get(), "import", () -> importNow(spec, material));
    }

    private KeyMetadata importNow(KeySpec spec, KeyMaterial material) {
        Validation.required("spec", spec);
        Validation.required("material", material);
        String algorithm = Algorithms.check(spec.algorithm(), spec.keySize());
        if (material.isClosed()) {
            throw new InvalidInputException("material", "was closed before the import");
        }
        byte[] bytes = material.copyBytes();
        try {
            if ((long) bytes.length * 8 != spec.keySize()) {
                throw new InvalidInputException("material", "is " + (long) bytes.length * 8 + " bits long but the spec's "
                        + "key size is " + spec.keySize() + " bits");
            }
            return store(spec, algorithm, bytes);
        } finally {
            Bytes.wipe(bytes);
        }
    }

    @Override
    public KeyMaterial get(KeyId id) {
        return Measured.operation(meter.get(), "get", () -> getNow(id));
    }

    private KeyMaterial getNow(KeyId id) {
        Validation.required("keyId", id);
        return sealing.material(id, clock);
    }

    @Override
    public KeyMetadata metadata(KeyId id) {
        return Measured.operation(meter.get(), "metadata", () -> metadataNow(id));
    }

    private KeyMetadata metadataNow(KeyId id) {
        Validation.required("keyId", id);
        return sealing.metadata(id);
    }

    @Override
    public KeyMetadata rotate(String name) {
        return Measured.operation(meter.get(), "rotate", () -> rotateNow(name));
    }

    private KeyMetadata rotateNow(String name) {
        Validation.keyName(name);
        afterOpenOperationsOn(name);
        for (int attempt = 1; ; attempt++) {
            List<KeyId> versions = versionsOf(name);
            if (versions.isEmpty()) {
                throw new KeyNotFoundException(KeyId.of(name, 1));
            }
            KeyMetadata previous;
            try {
                previous = sealing.retrieveKey(versions.get(versions.size() - 1)).metadata();
            } catch (KeyNotFoundException vanished) {
                if (attempt >= MAX_ATTEMPTS) {
                    throw vanished;
                }
                continue; // a rotate under way was undone meanwhile: list again
            }
            KeyId nextId = previous.id().nextVersion();
            Instant now = clock.instant();
            KeyMetadata.Builder next = KeyMetadata.builder().id(nextId).type(previous.type())
                    .algorithm(previous.algorithm()).keySize(previous.keySize()).owner(previous.owner())
                    .region(previous.region().orElse(null)).parent(previous.parent().orElse(null))
                    .tags(previous.tags()).status(KeyStatus.ACTIVE).createdAt(now).revision(1);
            // The new version lives as long as the previous one was meant to.
            previous.expiry().ifPresent(e -> next.expiry(now.plus(Duration.between(previous.created(), e))));
            Algorithms.check(previous.algorithm(), previous.keySize());
            byte[] material = new byte[previous.keySize() / 8];
            KeyMetadata metadata = next.build();
            StoredKey record;
            try {
                random.nextBytes(material);
                record = sealing.seal(metadata, material);
            } finally {
                Bytes.wipe(material);
            }
            KeyMetadata created = record.metadata();
            // a saga: store the next version, then deprecate the previous one (the commit point)
            SagaResult result = runner.run(sagas.rotate(), List.of(previous.id(), nextId),
                    KeystoreSagas.rotateParams(previous, record), Map.of(KeystoreSagas.RECORD, record));
            if (result.state() != SagaResult.State.COMMITTED) {
                boolean raced = result.failure() instanceof KeyExistsException || result.failure() instanceof ConflictException;
                if (result.state() == SagaResult.State.COMPENSATED && raced && attempt < MAX_ATTEMPTS) {
                    continue; // a concurrent rotate or update came first: start again from the newest
                }
                throw result.failure();
            }
            Logs.info(logger(), "Rotated key {}: version {} is ACTIVE", name, nextId.version());
            return created;
        }
    }

    @Override
    public KeyMetadata changeStatus(KeyId id, KeyStatus status, long expectedRevision) {
        return Measured.operation(meter.get(), "change_status", () -> changeStatusNow(id, status, expectedRevision));
    }

    private KeyMetadata changeStatusNow(KeyId id, KeyStatus status, long expectedRevision) {
        Validation.required("status", status);
        return update(id, expectedRevision, (current, next) -> {
            if (current.status() == KeyStatus.RETIRED && status != KeyStatus.RETIRED) {
                throw new PolicyRefusedException(id, "a RETIRED key cannot become " + status + " again");
            }
            return next.status(status);
        });
    }

    @Override
    public KeyMetadata changeExpiry(KeyId id, Instant expiry, long expectedRevision) {
        return Measured.operation(meter.get(), "change_expiry", () -> changeExpiryNow(id, expiry, expectedRevision));
    }

    private KeyMetadata changeExpiryNow(KeyId id, Instant expiry, long expectedRevision) {
        return update(id, expectedRevision, (current, next) -> next.expiry(expiry));
    }

    @Override
    public KeyMetadata changeTags(KeyId id, Map<String, String> tags, long expectedRevision) {
        return Measured.operation(meter.get(), "change_tags", () -> changeTagsNow(id, tags, expectedRevision));
    }

    private KeyMetadata changeTagsNow(KeyId id, Map<String, String> tags, long expectedRevision) {
        Validation.tags(tags);
        return update(id, expectedRevision, (current, next) -> next.tags(tags));
    }

    @Override
    public boolean delete(KeyId id) {
        return Measured.operation(meter.get(), "delete", () -> deleteNow(id));
    }

    private boolean deleteNow(KeyId id) {
        Validation.required("keyId", id);
        return sealing.deleteKey(id);
    }

    @Override
    public int deleteAllVersions(String name) {
        return Measured.operation(meter.get(), "delete_all_versions", () -> deleteAllVersionsNow(name));
    }

    private int deleteAllVersionsNow(String name) {
        Validation.keyName(name);
        List<KeyId> versions = versionsOf(name);
        if (versions.isEmpty()) {
            return 0;
        }
        // the journal names the record of each version, so that the delete (and recovery, later)
        // removes exactly these and never a version stored again under the same id since
        List<StoredKey> planned = new ArrayList<>();
        for (KeyId id : versions) {
            try {
                planned.add(keystore().retrieveKey(id));
            } catch (KeyNotFoundException gone) {
                // deleted meanwhile
            }
        }
        versions = planned.stream().map(p -> p.metadata().id()).toList();
        if (versions.isEmpty()) {
            return 0;
        }
        // a saga that only goes forward: once begun (journaled), every listed version is deleted,
        // after a crash too
        AtomicInteger deleted = new AtomicInteger();
        SagaResult result = runner.run(sagas.deleteAllVersions(), versions,
                KeystoreSagas.deleteAllParams(name, planned), Map.of(KeystoreSagas.DELETED, deleted));
        versions.forEach(sealing::forgetRevision);
        if (result.state() != SagaResult.State.COMMITTED) {
            throw result.failure(); // pending: recovery finishes the delete
        }
        return deleted.get();
    }

    /** Pages of metadata, each entry's lifecycle MAC checked: a page holding a tampered entry is refused. */
    @Override
    public KeyPage list(KeyFilter filter) {
        return Measured.operation(meter.get(), "list", () -> listNow(filter));
    }

    private KeyPage listNow(KeyFilter filter) {
        return sealing.listKeys(filter == null ? KeyFilter.all() : filter);
    }

    /** The envelope over the KEK providers present now, chosen and pinned by {@link KekChoice}. */
    public Envelope envelope() {
        return keks.envelope();
    }

    // --------------------------------------------------------------- internals

    private KeyMetadata store(KeySpec spec, String algorithm, byte[] material) {
        Instant now = clock.instant();
        if (spec.expiry().isPresent() && !spec.expiry().get().isAfter(now)) {
            throw new InvalidInputException("expiry", "must be in the future", KeyId.of(spec.name(), 1));
        }
        afterOpenOperationsOn(spec.name());
        spec.parent().ifPresent(parent -> checkParent(spec, parent, now));
        KeyMetadata metadata = KeyMetadata.builder().id(KeyId.of(spec.name(), 1)).type(spec.type())
                .algorithm(algorithm).keySize(spec.keySize()).owner(spec.owner())
                .region(spec.region().orElse(null)).parent(spec.parent().orElse(null))
                .expiry(spec.expiry().orElse(null)).tags(spec.tags()).status(KeyStatus.ACTIVE)
                .createdAt(now).revision(1).build();
        if (metadata.parent().isPresent()) {
            return storeWithParent(metadata, material);
        }
        StoredKey record = sealing.seal(metadata, material);
        sealing.storeKey(record.metadata().id(), record.sealed(), record.metadata());
        return record.metadata();
    }

    /**
     * The parent of a new L3 or L4 key is an L2 or L3 key held here: it must exist and be ACTIVE
     * (not DEPRECATED, RETIRED or expired). An L2 key's parent is an L1 key, which lives in an
     * external KMS and is never held here, so it is not looked up. The saga's check-parent step
     * checks again after the store, for a parent retired meanwhile.
     */
    private void checkParent(KeySpec spec, KeyId parent, Instant now) {
        if (spec.type() == KeyType.L2) {
            return;
        }
        KeyId id = KeyId.of(spec.name(), 1);
        KeyMetadata held;
        try {
            held = sealing.retrieveKey(parent).metadata();
        } catch (KeyNotFoundException e) {
            throw new InvalidInputException("parent", "must name a stored key; " + parent + " does not exist", id);
        }
        if (held.status() != KeyStatus.ACTIVE) {
            throw new PolicyRefusedException(id, "the parent " + parent + " is " + held.status()
                    + "; a new key needs an ACTIVE parent");
        }
        if (held.isExpiredAt(now)) {
            throw new PolicyRefusedException(id, "the parent " + parent + " expired at " + held.expiry().orElseThrow());
        }
    }

    /** A saga: store the key, then check its parent (if held here) is not RETIRED or expired, else remove the key. */
    private KeyMetadata storeWithParent(KeyMetadata metadata, byte[] material) {
        StoredKey record = sealing.seal(metadata, material);
        KeyMetadata authenticated = record.metadata();
        KeyId id = authenticated.id();
        SagaResult result = runner.run(sagas.generate(), List.of(id),
                KeystoreSagas.generateParams(authenticated.parent().orElseThrow(), record),
                Map.of(KeystoreSagas.RECORD, record));
        if (result.state() != SagaResult.State.COMMITTED) {
            throw result.failure();
        }
        return authenticated;
    }

    /**
     * A compare-and-set change of a key's lifecycle fields: read through the sealing layer, refused
     * if the revision is not the one expected, written back as the next revision (which the sealing
     * layer authenticates).
     *
     * @param change the change, given the current metadata and a builder of its next revision
     */
    private KeyMetadata update(KeyId id, long expectedRevision,
            BiFunction<KeyMetadata, KeyMetadata.Builder, KeyMetadata.Builder> change) {
        Validation.required("keyId", id);
        Validation.revision("expectedRevision", expectedRevision);
        KeyMetadata current = sealing.retrieveKey(id).metadata();
        if (current.revision() != expectedRevision) {
            throw new ConflictException(id, expectedRevision, current.revision());
        }
        return sealing.updateKeyMetadata(id,
                change.apply(current, SealingKeystore.nextRevision(current, clock.instant())).build());
    }

    /** The {@code keystore.name} a key was read from (the location index), or "default" without a router. */
    private String recordLocation(KeyId id) {
        RoutingTable r = router;
        String location = r == null ? null : r.index().get(id);
        return location == null ? "default" : location;
    }

    private void invalidate(KeyId id) {
        KeyCache cache = keyCache();
        if (cache != null) {
            cache.invalidate(id);
        }
    }

    private void invalidateAll() {
        KeyCache cache = keyCache();
        if (cache != null) {
            cache.invalidateAll();
        }
    }

    /**
     * Orders a new version of a name after the operations left open on it (a delete of all its
     * versions, a rotate or a generate that failed part-way and waits for recovery): each is
     * finished now; if one cannot be finished yet, the new version is refused. An operation running
     * now is not waited for: it acts only on the records it planned (see {@link RecordMatch}).
     *
     * @throws UnavailableException naming the operation that is not finished
     */
    private void afterOpenOperationsOn(String name) {
        SagaRunner r = runner;
        for (Intent open : r.journal().unfinished()) {
            if (!KeystoreSagas.touchesName(open, name) || r.running(open.id())) {
                continue;
            }
            RecoveryReport.Entry entry = r.finish(open.id(), definitions()).orElse(null);
            if (entry != null && entry.state() != SagaResult.State.COMMITTED
                    && entry.state() != SagaResult.State.COMPENSATED) {
                throw new UnavailableException("an earlier " + open.kind() + " of " + name + " (operation "
                        + open.id() + ") is not finished yet (" + entry.detail() + "); a new version of " + name
                        + " waits until recovery finishes it: try again later", KeyId.of(name, 1), null);
            }
        }
    }

    /** Every stored version of the named key, ascending. */
    private List<KeyId> versionsOf(String name) {
        Keystore ks = keystore();
        List<KeyId> versions = new ArrayList<>();
        KeyId first = KeyId.of(name, 1);
        try {
            ks.retrieveKey(first);
            versions.add(first);
        } catch (KeyNotFoundException e) {
            // version 1 may have been deleted; later versions may remain
        }
        KeyFilter filter = KeyFilter.builder().pageSize(Validation.MAX_PAGE_SIZE).build();
        KeyPage page;
        try {
            // Keys come in KeyId order, so the versions of a name follow name:1.
            page = ks.listKeys(filter.withCursor(KeyPage.cursorAfter(first)));
        } catch (InvalidInputException e) {
            page = ks.listKeys(filter); // a backend with cursors of its own: scan from the start
        }
        while (true) {
            for (KeyMetadata m : page.keys()) {
                int order = m.id().name().compareTo(name);
                if (order > 0) {
                    return versions;
                }
                if (order == 0 && !versions.contains(m.id())) {
                    versions.add(m.id());
                }
            }
            String cursor = page.nextCursor().orElse(null);
            if (cursor == null) {
                break;
            }
            page = ks.listKeys(filter.withCursor(cursor));
        }
        versions.sort(Comparator.naturalOrder());
        return versions;
    }

    private Keystore keystore() {
        Keystore ks = keystore;
        if (ks != null) {
            return ks;
        }
        return router().keystore();
    }

    private RoutingTable router() {
        RoutingTable r = router;
        if (r == null) {
            throw new UnavailableException("no Keystore backend is present");
        }
        return r;
    }
}
