package org.openkcm.keystore.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.T0;
import static org.openkcm.keystore.sdk.SampleKeys.full;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;

/**
 * The conformance suite of the {@link Keystore} contract. A backend's test class extends it and
 * supplies a fresh, empty keystore per test; every test here then runs against that backend.
 *
 * <pre>
 * class MyKeystoreConformanceTest extends KeystoreConformanceSuite {
 *     protected Keystore createKeystore() { return new MyKeystore(freshNamespace()); }
 * }
 * </pre>
 *
 * Each test names the row of the contract it holds the backend to. A backend that passes has the
 * semantics the core relies on: create-only stores with idempotent retries, exact round trips,
 * compare-and-set updates, permanent deletes, stable paging, and safety under concurrency.
 */
public abstract class KeystoreConformanceSuite {

    /** Threads used by the concurrency tests; enough to race on two cores. */
    protected static final int THREADS = 8;

    private Keystore keystore;

    /** A fresh keystore holding no keys. Called before each test. */
    protected abstract Keystore createKeystore() throws Exception;

    /** Releases a keystore made by {@link #createKeystore()}. Called after each test. */
    protected void disposeKeystore(Keystore keystore) throws Exception {
    }

    /** Keys stored by the paging tests; a slow remote backend may lower it, to no fewer than 3 pages. */
    protected int pagingKeyCount() {
        return 250;
    }

    /** The keystore under test. */
    protected final Keystore keystore() {
        return keystore;
    }

    @BeforeEach
    final void createKeystoreUnderTest() throws Exception {
        keystore = createKeystore();
    }

    @AfterEach
    final void disposeKeystoreUnderTest() throws Exception {
        if (keystore != null) {
            disposeKeystore(keystore);
        }
    }

    // ---- store and retrieve ----

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 32, 64 * 1024, Validation.MAX_SEALED_BYTES})
    @DisplayName("storeKey/retrieveKey: the sealed bytes round-trip exactly")
    void sealedBytesRoundTripExactly(int length) {
        KeyId id = KeyId.of("k-" + length, 1);
        SealedKey record = sealed(length, length);
        keystore.storeKey(id, record, minimal(id).build());

        StoredKey stored = keystore.retrieveKey(id);

        assertEquals(length, stored.sealed().length());
        assertEquals(record, stored.sealed());
    }

    @Test
    @DisplayName("storeKey/retrieveKey: every metadata field round-trips exactly")
    void everyMetadataFieldRoundTrips() {
        KeyId id = KeyId.of("full", 2);
        KeyMetadata metadata = full(id);
        keystore.storeKey(id, sealed(1), metadata);

        KeyMetadata back = keystore.retrieveKey(id).metadata();

        assertEquals(metadata, back);
        assertEquals(metadata.expiry(), back.expiry());
        assertEquals(metadata.region(), back.region());
        assertEquals(metadata.parent(), back.parent());
        assertEquals(metadata.tags(), back.tags());
        assertEquals(metadata.lifecycleMac(), back.lifecycleMac());
        assertEquals(metadata.created(), back.created());
        assertEquals(metadata.updated(), back.updated());
        assertEquals(metadata.revision(), back.revision());
    }

    @Test
    @DisplayName("storeKey/retrieveKey: absent optional fields stay absent")
    void absentOptionalFieldsStayAbsent() {
        KeyId id = KeyId.of("minimal", 1);
        KeyMetadata metadata = minimal(id).build();
        keystore.storeKey(id, sealed(2), metadata);

        KeyMetadata back = keystore.retrieveKey(id).metadata();

        assertEquals(metadata, back);
        assertTrue(back.expiry().isEmpty());
        assertTrue(back.region().isEmpty());
        assertTrue(back.parent().isEmpty());
        assertTrue(back.tags().isEmpty());
        assertTrue(back.lifecycleMac().isEmpty());
    }

    @Test
    @DisplayName("storeKey: versions of one name are separate keys")
    void versionsAreSeparateKeys() {
        KeyId v1 = KeyId.of("rotating", 1);
        KeyId v2 = v1.nextVersion();
        keystore.storeKey(v1, sealed(1), minimal(v1).build());
        keystore.storeKey(v2, sealed(2), minimal(v2).build());

        assertEquals(sealed(1), keystore.retrieveKey(v1).sealed());
        assertEquals(sealed(2), keystore.retrieveKey(v2).sealed());
    }

    @Test
    @DisplayName("storeKey: create-only; a different record under an existing id is refused and nothing changes")
    void storeIsCreateOnly() {
        KeyId id = KeyId.of("once", 1);
        KeyMetadata metadata = minimal(id).build();
        keystore.storeKey(id, sealed(1), metadata);

        assertThrows(KeyExistsException.class, () -> keystore.storeKey(id, sealed(2), metadata));
        assertThrows(KeyExistsException.class,
                () -> keystore.storeKey(id, sealed(1), metadata.toBuilder().status(KeyStatus.RETIRED).build()));

        assertEquals(StoredKey.of(sealed(1), metadata), keystore.retrieveKey(id));
    }

    @Test
    @DisplayName("storeKey: an identical retry succeeds and changes nothing")
    void identicalRetryIsIdempotent() {
        KeyId id = KeyId.of("retried", 1);
        KeyMetadata metadata = full(id);
        keystore.storeKey(id, sealed(9), metadata);

        keystore.storeKey(id, sealed(9), metadata);

        assertEquals(StoredKey.of(sealed(9), metadata), keystore.retrieveKey(id));
        assertEquals(List.of(metadata), keystore.listKeys(KeyFilter.all()).keys());
    }

    @Test
    @DisplayName("storeKey: metadata for another id is refused as invalid input and nothing is stored")
    void storeRefusesMetadataOfAnotherId() {
        KeyId id = KeyId.of("here", 1);
        KeyMetadata elsewhere = minimal(KeyId.of("there", 1)).build();

        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> keystore.storeKey(id, sealed(1), elsewhere));

        assertEquals("metadata.id", e.field());
        assertNothingStored();
    }

    @Test
    @DisplayName("storeKey: null arguments are refused as invalid input and nothing is stored")
    void storeRefusesNulls() {
        KeyId id = KeyId.of("nulls", 1);
        assertThrows(InvalidInputException.class, () -> keystore.storeKey(null, sealed(1), minimal(id).build()));
        assertThrows(InvalidInputException.class, () -> keystore.storeKey(id, null, minimal(id).build()));
        assertThrows(InvalidInputException.class, () -> keystore.storeKey(id, sealed(1), null));
        assertNothingStored();
    }

    // ---- not found ----

    @Test
    @DisplayName("retrieve/update/rewrap of an absent key: KeyNotFoundException; delete answers false")
    void absentKeyIsNotFound() {
        KeyId id = KeyId.of("ghost", 1);
        KeyMetadata next = minimal(id).revision(2).build();

        KeyNotFoundException e = assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(id));
        assertEquals(id, e.keyId().orElseThrow());
        assertThrows(KeyNotFoundException.class, () -> keystore.updateKeyMetadata(id, next));
        assertThrows(KeyNotFoundException.class, () -> keystore.rewrapKey(id, sealed(1), 1));
        assertFalse(keystore.deleteKey(id));
        assertNothingStored();
    }

    // ---- compare-and-set metadata updates ----

    @Test
    @DisplayName("updateKeyMetadata: the next revision replaces the lifecycle fields; material is untouched")
    void updateReplacesLifecycleFields() {
        KeyId id = KeyId.of("lifecycle", 1);
        KeyMetadata stored = minimal(id).build();
        keystore.storeKey(id, sealed(3), stored);
        KeyMetadata next = stored.toBuilder()
                .status(KeyStatus.DEPRECATED)
                .expiry(T0.plusSeconds(60))
                .tags(Map.of("reason", "rotated"))
                .updated(T0.plusSeconds(1))
                .lifecycleMac("bmV3LW1hYw")
                .revision(2)
                .build();

        KeyMetadata returned = keystore.updateKeyMetadata(id, next);

        assertEquals(next, returned);
        assertEquals(StoredKey.of(sealed(3), next), keystore.retrieveKey(id));
    }

    @Test
    @DisplayName("updateKeyMetadata: a stale or skipped revision is a conflict, never an overwrite")
    void staleRevisionIsConflict() {
        KeyId id = KeyId.of("cas", 1);
        KeyMetadata stored = minimal(id).build();
        keystore.storeKey(id, sealed(4), stored);
        KeyMetadata second = stored.toBuilder().status(KeyStatus.DEPRECATED).revision(2).build();
        keystore.updateKeyMetadata(id, second);

        KeyMetadata stale = stored.toBuilder().status(KeyStatus.RETIRED).revision(2).build();
        ConflictException conflict = assertThrows(ConflictException.class, () -> keystore.updateKeyMetadata(id, stale));
        assertEquals(2, conflict.storedRevision());
        KeyMetadata skipped = stored.toBuilder().status(KeyStatus.RETIRED).revision(4).build();
        assertThrows(ConflictException.class, () -> keystore.updateKeyMetadata(id, skipped));

        assertEquals(second, keystore.retrieveKey(id).metadata());
    }

    @Test
    @DisplayName("updateKeyMetadata: changing an immutable field is invalid input and nothing changes")
    void immutableFieldsCannotChange() {
        KeyId id = KeyId.of("immutable", 1);
        KeyMetadata stored = full(id);
        keystore.storeKey(id, sealed(5), stored);
        long next = stored.revision() + 1;
        List<KeyMetadata> attempts = List.of(
                stored.toBuilder().revision(next).type(KeyType.L2).build(),
                stored.toBuilder().revision(next).algorithm("HMAC-SHA256").build(),
                stored.toBuilder().revision(next).keySize(256).build(),
                stored.toBuilder().revision(next).owner(Owner.tenant("other")).build(),
                stored.toBuilder().revision(next).region("us-east-1").build(),
                stored.toBuilder().revision(next).parent(KeyId.of("another-parent", 1)).build(),
                stored.toBuilder().revision(next).created(T0.minusSeconds(1)).build());

        for (KeyMetadata attempt : attempts) {
            assertThrows(InvalidInputException.class, () -> keystore.updateKeyMetadata(id, attempt),
                    () -> "accepted " + attempt);
        }

        assertEquals(StoredKey.of(sealed(5), stored), keystore.retrieveKey(id));
    }

    @Test
    @DisplayName("updateKeyMetadata: metadata of another id is refused and nothing changes")
    void updateRefusesMetadataOfAnotherId() {
        KeyId id = KeyId.of("mine", 1);
        KeyMetadata stored = minimal(id).build();
        keystore.storeKey(id, sealed(6), stored);
        KeyMetadata other = minimal(KeyId.of("yours", 1)).revision(2).build();

        assertThrows(InvalidInputException.class, () -> keystore.updateKeyMetadata(id, other));

        assertEquals(stored, keystore.retrieveKey(id).metadata());
    }

    // ---- rewrap ----

    @Test
    @DisplayName("rewrapKey: replaces the sealed record; metadata and revision unchanged")
    void rewrapReplacesRecordOnly() {
        KeyId id = KeyId.of("rewrapped", 1);
        KeyMetadata stored = full(id);
        keystore.storeKey(id, sealed(7), stored);

        keystore.rewrapKey(id, sealed(70), stored.revision());

        assertEquals(StoredKey.of(sealed(70), stored), keystore.retrieveKey(id));
    }

    @Test
    @DisplayName("rewrapKey: a stale revision is a conflict and the record is unchanged")
    void rewrapStaleRevisionIsConflict() {
        KeyId id = KeyId.of("rewrap-cas", 1);
        KeyMetadata stored = minimal(id).build();
        keystore.storeKey(id, sealed(8), stored);
        KeyMetadata updated = keystore.updateKeyMetadata(id, stored.toBuilder().revision(2).build());

        assertThrows(ConflictException.class, () -> keystore.rewrapKey(id, sealed(80), 1));

        assertEquals(StoredKey.of(sealed(8), updated), keystore.retrieveKey(id));
    }

    // ---- delete ----

    @Test
    @DisplayName("deleteKey: permanent; a deleted id cannot be retrieved, listed, updated or rewrapped")
    void deleteIsPermanent() {
        KeyId id = KeyId.of("doomed", 1);
        KeyId neighbour = KeyId.of("doomed", 2);
        KeyMetadata stored = minimal(id).build();
        keystore.storeKey(id, sealed(10), stored);
        keystore.storeKey(neighbour, sealed(11), minimal(neighbour).build());

        assertTrue(keystore.deleteKey(id));

        assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(id));
        assertThrows(KeyNotFoundException.class,
                () -> keystore.updateKeyMetadata(id, stored.toBuilder().revision(2).build()));
        assertThrows(KeyNotFoundException.class, () -> keystore.rewrapKey(id, sealed(12), 1));
        assertEquals(List.of(neighbour), ids(keystore.listKeys(KeyFilter.all())));
        assertFalse(keystore.deleteKey(id), "a second delete finds nothing");
        assertEquals(sealed(11), keystore.retrieveKey(neighbour).sealed(), "other versions are untouched");
    }

    @Test
    @DisplayName("deleteKey: a deleted id can be stored again as a new key")
    void deletedIdCanBeStoredAgain() {
        KeyId id = KeyId.of("reborn", 1);
        keystore.storeKey(id, sealed(13), full(id));
        keystore.deleteKey(id);
        KeyMetadata fresh = minimal(id).build();

        keystore.storeKey(id, sealed(14), fresh);

        assertEquals(StoredKey.of(sealed(14), fresh), keystore.retrieveKey(id));
    }

    // ---- list ----

    @Test
    @DisplayName("listKeys: metadata of every key, in KeyId order")
    void listReturnsAllInStableOrder() {
        List<KeyId> stored = new ArrayList<>();
        for (String name : List.of("b", "a", "c", "a-b", "A")) {
            for (int version : new int[] {2, 1, 10}) {
                KeyId id = KeyId.of(name, version);
                keystore.storeKey(id, sealed(id.hashCode()), minimal(id).build());
                stored.add(id);
            }
        }
        Collections.sort(stored);

        KeyPage page = keystore.listKeys(KeyFilter.all());

        assertEquals(stored, ids(page));
        assertTrue(page.nextCursor().isEmpty());
        assertEquals(minimal(KeyId.of("a", 1)).build(), page.keys().get(stored.indexOf(KeyId.of("a", 1))));
    }

    @Test
    @DisplayName("listKeys: each filter field selects exactly the matching keys")
    void listFiltersByEachField() {
        KeyMetadata tenantL2 = minimal(KeyId.of("t-l2", 1)).type(KeyType.L2).region("eu").tags(Map.of("env", "prod")).build();
        KeyMetadata tenantL3 = minimal(KeyId.of("t-l3", 1)).type(KeyType.L3).region("us")
                .tags(Map.of("env", "prod", "team", "a")).status(KeyStatus.DEPRECATED).build();
        KeyMetadata otherTenant = minimal(KeyId.of("o-l3", 1)).owner(Owner.tenant("globex")).region("eu").build();
        KeyMetadata service = minimal(KeyId.of("s-l4", 1)).type(KeyType.L4).owner(Owner.service("acme"))
                .status(KeyStatus.RETIRED).tags(Map.of("env", "dev")).build();
        KeyMetadata node = minimal(KeyId.of("n-l4", 1)).type(KeyType.L4).owner(Owner.node("node-7")).build();
        for (KeyMetadata m : List.of(tenantL2, tenantL3, otherTenant, service, node)) {
            keystore.storeKey(m.id(), sealed(m.id().hashCode()), m);
        }

        Map<KeyFilter, List<KeyMetadata>> expected = new LinkedHashMap<>();
        expected.put(KeyFilter.builder().ownerKind(OwnerKind.TENANT).build(), sorted(tenantL2, tenantL3, otherTenant));
        expected.put(KeyFilter.builder().ownerId("acme").build(), sorted(tenantL2, tenantL3, service));
        expected.put(KeyFilter.builder().owner(Owner.tenant("acme")).build(), sorted(tenantL2, tenantL3));
        expected.put(KeyFilter.builder().type(KeyType.L4).build(), sorted(service, node));
        expected.put(KeyFilter.builder().status(KeyStatus.ACTIVE).build(), sorted(tenantL2, otherTenant, node));
        expected.put(KeyFilter.builder().status(KeyStatus.RETIRED).build(), sorted(service));
        expected.put(KeyFilter.builder().region("eu").build(), sorted(tenantL2, otherTenant));
        expected.put(KeyFilter.builder().tag("env", "prod").build(), sorted(tenantL2, tenantL3));
        expected.put(KeyFilter.builder().tag("env", "prod").tag("team", "a").build(), sorted(tenantL3));
        expected.put(KeyFilter.builder().tag("env", "staging").build(), List.of());
        expected.put(KeyFilter.builder().type(KeyType.L3).region("eu").build(), sorted(otherTenant));

        expected.forEach((filter, keys) -> assertEquals(keys, keystore.listKeys(filter).keys(), filter::toString));
    }

    @Test
    @DisplayName("listKeys: pages through more than two pages with no key repeated or missed")
    void pagesWithoutRepeatsOrGaps() {
        int count = pagingKeyCount();
        List<KeyId> stored = storeNumberedKeys("page", count);
        int pageSize = Math.max(1, (count - 1) / 3);

        List<KeyId> seen = listAll(KeyFilter.builder().pageSize(pageSize).build(), new AtomicInteger());

        assertEquals(stored, seen);
    }

    @Test
    @DisplayName("listKeys: paging while keys are added concurrently repeats and misses none present throughout")
    void pagesWhileKeysAreAdded() throws Exception {
        int count = pagingKeyCount();
        List<KeyId> present = storeNumberedKeys("steady", count);
        AtomicBoolean adding = new AtomicBoolean(true);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        Future<Integer> added = writer.submit(() -> {
            int n = 0;
            while (adding.get() && n < 2 * count) {
                // Names that sort before, between and after the steady keys.
                for (String prefix : new String[] {"a-new", "steady-" + n + "x", "z-new"}) {
                    KeyId id = KeyId.of(prefix + "-" + n, 1);
                    keystore.storeKey(id, sealed(n), minimal(id).build());
                }
                n++;
            }
            return n;
        });
        AtomicInteger pages = new AtomicInteger();
        List<KeyId> seen;
        try {
            seen = listAll(KeyFilter.builder().pageSize(Math.max(1, (count - 1) / 3)).build(), pages);
        } finally {
            adding.set(false);
            writer.shutdown();
        }
        assertTrue(added.get(10, TimeUnit.SECONDS) >= 0);

        assertTrue(pages.get() > 2, "paged through " + pages.get() + " pages");
        assertEquals(new HashSet<>(seen).size(), seen.size(), "no key repeated");
        assertTrue(seen.containsAll(present), "no steady key missed");
        List<KeyId> ordered = new ArrayList<>(seen);
        Collections.sort(ordered);
        assertEquals(ordered, seen, "pages come in KeyId order");
    }

    @Test
    @DisplayName("listKeys: a page size of 1 and a filter matching nothing page correctly")
    void pageEdges() {
        List<KeyId> stored = storeNumberedKeys("edge", 3);

        assertEquals(stored, listAll(KeyFilter.builder().pageSize(1).build(), new AtomicInteger()));
        KeyPage none = keystore.listKeys(KeyFilter.builder().type(KeyType.L2).build());
        assertTrue(none.keys().isEmpty());
        assertTrue(none.nextCursor().isEmpty());
    }

    @Test
    @DisplayName("listKeys: a cursor the backend never issued is refused as invalid input")
    void foreignCursorIsRefused() {
        storeNumberedKeys("cursor", 2);
        KeyFilter forged = KeyFilter.builder().cursor("not-a-cursor-of-this-backend").build();

        InvalidInputException e = assertThrows(InvalidInputException.class, () -> keystore.listKeys(forged));
        assertEquals("filter.cursor", e.field());
    }

    @Test
    @DisplayName("KeyFilter: page sizes outside 1.." + Validation.MAX_PAGE_SIZE + " are refused before any backend")
    void pageSizeBounds() {
        assertEquals(Validation.MAX_PAGE_SIZE, KeyFilter.builder().pageSize(Validation.MAX_PAGE_SIZE).build().pageSize());
        assertThrows(InvalidInputException.class, () -> KeyFilter.builder().pageSize(0).build());
        assertThrows(InvalidInputException.class,
                () -> KeyFilter.builder().pageSize(Validation.MAX_PAGE_SIZE + 1).build());
    }

    // ---- bounds ----

    @Test
    @DisplayName("bounds: the largest allowed id, owner, region and tag set are stored and round-trip")
    void largestAllowedValuesPass() {
        KeyId id = KeyId.of("n".repeat(Validation.MAX_NAME_LENGTH), Validation.MAX_VERSION);
        KeyMetadata metadata = minimal(id)
                .owner(Owner.node("o".repeat(Validation.MAX_NAME_LENGTH)))
                .region("r".repeat(Validation.MAX_REGION_LENGTH))
                .algorithm("A".repeat(Validation.MAX_ALGORITHM_LENGTH))
                .tags(largestTags(Validation.MAX_TAGS))
                .build();

        keystore.storeKey(id, sealed(15), metadata);

        assertEquals(StoredKey.of(sealed(15), metadata), keystore.retrieveKey(id));
        assertEquals(List.of(metadata), keystore.listKeys(KeyFilter.all()).keys());
    }

    @Test
    @DisplayName("bounds: one past each bound is refused as invalid input and nothing is stored")
    void onePastEachBoundIsRefused() {
        String longest = "n".repeat(Validation.MAX_NAME_LENGTH);
        assertInvalid("keyId.name", () -> KeyId.of(longest + "n", 1));
        assertInvalid("keyId.version", () -> KeyId.of("v", Validation.MAX_VERSION + 1));
        assertInvalid("owner.id", () -> Owner.node(longest + "o"));
        assertInvalid("region", () -> minimal(KeyId.of("r", 1)).region("r".repeat(Validation.MAX_REGION_LENGTH + 1)).build());
        assertInvalid("tags", () -> minimal(KeyId.of("t", 1)).tags(largestTags(Validation.MAX_TAGS + 1)).build());
        Map<String, String> longValue = Map.of("k", "v".repeat(Validation.MAX_TAG_VALUE_LENGTH + 1));
        assertInvalid("tags", () -> minimal(KeyId.of("t", 1)).tags(longValue).build());
        Map<String, String> longKey = Map.of("k".repeat(Validation.MAX_TAG_KEY_LENGTH + 1), "v");
        assertInvalid("tags", () -> minimal(KeyId.of("t", 1)).tags(longKey).build());
        assertInvalid("sealed", () -> SealedKey.of(new byte[Validation.MAX_SEALED_BYTES + 1]));

        assertNothingStored();
    }

    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {"", "..", ".", "a/b", "../etc", "a\\b", "a b", "a\nb", "a\u0000b", "-lead", "é"})
    @DisplayName("bounds: names that could escape a storage path are refused as invalid input")
    void unsafeNamesAreRefused(String name) {
        assertInvalid("keyId.name", () -> KeyId.of(name, 1));
        assertInvalid("owner.id", () -> Owner.tenant(name));
        assertNothingStored();
    }

    // ---- concurrency ----

    @Test
    @DisplayName("concurrency: threads racing to store one id with different records: exactly one wins")
    void racingStoresHaveOneWinner() throws Exception {
        KeyId id = KeyId.of("contested", 1);
        List<Callable<Integer>> racers = IntStream.range(0, THREADS).<Callable<Integer>>mapToObj(n -> () -> {
            try {
                keystore.storeKey(id, sealed(100 + n), minimal(id).build());
                return n;
            } catch (KeyExistsException lost) {
                return -1;
            }
        }).collect(Collectors.toList());

        List<Integer> winners = race(racers).stream().filter(n -> n >= 0).collect(Collectors.toList());

        assertEquals(1, winners.size(), "winners: " + winners);
        assertEquals(sealed(100 + winners.get(0)), keystore.retrieveKey(id).sealed());
    }

    @Test
    @DisplayName("concurrency: identical retries racing each other all succeed")
    void racingIdenticalRetriesAllSucceed() throws Exception {
        KeyId id = KeyId.of("retry-race", 1);
        KeyMetadata metadata = minimal(id).build();

        race(IntStream.range(0, THREADS).<Callable<Integer>>mapToObj(n -> () -> {
            keystore.storeKey(id, sealed(5), metadata);
            return n;
        }).collect(Collectors.toList()));

        assertEquals(StoredKey.of(sealed(5), metadata), keystore.retrieveKey(id));
    }

    @Test
    @DisplayName("concurrency: racing compare-and-set updates on one key lose no update")
    void racingUpdatesLoseNothing() throws Exception {
        KeyId id = KeyId.of("counter", 1);
        keystore.storeKey(id, sealed(16), minimal(id).build());
        int perThread = 10;
        Map<Integer, Integer> conflicts = new ConcurrentHashMap<>();

        race(IntStream.range(0, THREADS).<Callable<Integer>>mapToObj(n -> () -> {
            for (int i = 0; i < perThread; i++) {
                while (true) {
                    KeyMetadata current = keystore.retrieveKey(id).metadata();
                    Map<String, String> tags = new HashMap<>(current.tags());
                    tags.merge("count", "1", (a, b) -> String.valueOf(Integer.parseInt(a) + 1));
                    tags.merge("thread-" + n, "1", (a, b) -> String.valueOf(Integer.parseInt(a) + 1));
                    try {
                        keystore.updateKeyMetadata(id, current.toBuilder().tags(tags).revision(current.revision() + 1).build());
                        break;
                    } catch (ConflictException expected) {
                        conflicts.merge(n, 1, Integer::sum);
                    }
                }
            }
            return n;
        }).collect(Collectors.toList()));

        KeyMetadata end = keystore.retrieveKey(id).metadata();
        assertEquals(String.valueOf(THREADS * perThread), end.tags().get("count"));
        for (int n = 0; n < THREADS; n++) {
            assertEquals(String.valueOf(perThread), end.tags().get("thread-" + n), "updates of thread " + n);
        }
        assertEquals(1 + THREADS * perThread, end.revision());
        assertEquals(sealed(16), keystore.retrieveKey(id).sealed());
    }

    @Test
    @DisplayName("concurrency: stores, reads and deletes of distinct keys on many threads stay consistent")
    void concurrentDistinctKeys() throws Exception {
        int perThread = 20;
        race(IntStream.range(0, THREADS).<Callable<Integer>>mapToObj(n -> () -> {
            for (int i = 0; i < perThread; i++) {
                KeyId id = KeyId.of("t" + n + "-k" + i, 1);
                keystore.storeKey(id, sealed(n * 1000L + i), minimal(id).build());
                assertEquals(sealed(n * 1000L + i), keystore.retrieveKey(id).sealed());
                if (i % 2 == 1) {
                    assertTrue(keystore.deleteKey(id));
                }
            }
            return n;
        }).collect(Collectors.toList()));

        List<KeyId> left = listAll(KeyFilter.builder().pageSize(Validation.MAX_PAGE_SIZE).build(), new AtomicInteger());
        assertEquals(THREADS * perThread / 2, left.size());
        assertTrue(left.stream().allMatch(id -> Integer.parseInt(id.name().substring(id.name().indexOf('k') + 1)) % 2 == 0));
    }

    // ---- health ----

    @Test
    @DisplayName("health: answers up within its bound, with a latency")
    void healthAnswersWithinBound() {
        KeystoreHealth health = assertTimeoutPreemptively(KeystoreHealth.MAX_PROBE_TIME, () -> keystore.health());

        assertTrue(health.isUp(), health::toString);
        assertTrue(health.reason().isEmpty());
        assertFalse(health.latency().isNegative());
        assertTrue(health.latency().compareTo(KeystoreHealth.MAX_PROBE_TIME) <= 0);
    }

    // ---- helpers ----

    /** Asserts the keystore holds no key at all. */
    protected final void assertNothingStored() {
        assertEquals(List.of(), keystore.listKeys(KeyFilter.all()).keys(), "the keystore should hold no key");
    }

    private static void assertInvalid(String field, Runnable action) {
        InvalidInputException e = assertThrows(InvalidInputException.class, action::run);
        assertEquals(field, e.field(), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }

    private List<KeyId> storeNumberedKeys(String prefix, int count) {
        List<KeyId> stored = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            KeyId id = KeyId.of(String.format("%s-%05d", prefix, i), 1 + i % 3);
            keystore.storeKey(id, sealed(i), minimal(id).build());
            stored.add(id);
        }
        Collections.sort(stored);
        return stored;
    }

    private List<KeyId> listAll(KeyFilter first, AtomicInteger pages) {
        List<KeyId> seen = new ArrayList<>();
        KeyFilter filter = first;
        while (true) {
            KeyPage page = keystore.listKeys(filter);
            pages.incrementAndGet();
            assertTrue(page.keys().size() <= filter.pageSize(), "page larger than asked for");
            seen.addAll(ids(page));
            if (page.nextCursor().isEmpty()) {
                return seen;
            }
            assertNotEquals(filter.cursor().orElse(null), page.nextCursor().get(), "cursor did not advance");
            filter = filter.withCursor(page.nextCursor().get());
        }
    }

    private static List<KeyId> ids(KeyPage page) {
        return page.keys().stream().map(KeyMetadata::id).collect(Collectors.toList());
    }

    private static List<KeyMetadata> sorted(KeyMetadata... keys) {
        List<KeyMetadata> list = new ArrayList<>(List.of(keys));
        list.sort((a, b) -> a.id().compareTo(b.id()));
        return list;
    }

    private static Map<String, String> largestTags(int count) {
        Map<String, String> tags = new HashMap<>();
        for (int i = 0; i < count; i++) {
            String key = String.format("%02d", i) + "k".repeat(Validation.MAX_TAG_KEY_LENGTH - 2);
            tags.put(key, "v".repeat(Validation.MAX_TAG_VALUE_LENGTH));
        }
        return tags;
    }

    /** Runs every task at once on its own thread and returns their results; fails on any exception. */
    private static <T> List<T> race(List<Callable<T>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> task : tasks) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            start.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get(2, TimeUnit.MINUTES));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
