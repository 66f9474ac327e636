package org.openkcm.keystore.core.envelope;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.reflect.Field;
import java.time.Instant;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.core.testing.TestKeks;

/**
 * Verifying and opening a key write nothing into its metadata. A stored key's metadata is old by
 * the time it is read; a reference written into it (the tags' entry-set view, which the JDK's maps
 * create on first use and keep) is a card every young collection must scan, one per key read, so a
 * million keys read at random cost far more GC than a thousand. The fields are the JDK's own (hence
 * the --add-opens of java.util in this module's surefire configuration).
 */
class ReadsLeaveMetadataUntouchedTest {
    private final Envelope envelope = new Envelope(KekDirectory.of(TestKeks.fixed("test", 1)));

    @Test
    void verifyingTheLifecycleMacAndOpeningLeaveTheTagsWithoutAnEntrySetView() throws Exception {
        KeyMetadata m = envelope.withLifecycleMac(KeyMetadata.builder().id(KeyId.of("k", 1)).type(KeyType.L3)
                .algorithm("AES").keySize(256).owner(Owner.tenant("acme")).createdAt(Instant.parse("2026-05-01T12:00:00Z"))
                .tags(Map.of("b", "2", "a", "1")).status(KeyStatus.ACTIVE).revision(1).build());
        byte[] material = TestKeks.kek(9);
        SealedKey sealed = envelope.seal(m, material);
        assertNull(memoizedEntrySets(m.tags()), "fresh metadata");

        envelope.verifyLifecycle(m);
        assertArrayEquals(material, envelope.open(sealed, m));

        assertNull(memoizedEntrySets(m.tags()), "a read memoized an entry-set view in the metadata");
        m.tags().entrySet(); // the check sees the memo when there is one
        assertNotNull(memoizedEntrySets(m.tags()));
    }

    /** The entry-set view the unmodifiable wrapper or the TreeMap inside it keeps, or null if neither has one. */
    private static Object memoizedEntrySets(Map<String, String> tags) throws Exception {
        Object outer = field(tags, "entrySet");
        Object inner = field(field(tags, "m"), "entrySet");
        return outer != null ? outer : inner;
    }

    private static Object field(Object o, String name) throws Exception {
        for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(o);
            } catch (NoSuchFieldException e) {
                // declared higher up
            }
        }
        throw new NoSuchFieldException(name + " in " + o.getClass());
    }
}
