package org.openkcm.keystore.itest.consumer;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * A bundle of its own in {@code ApiConsumerIT}: a component that finds the Keystore named
 * "shared" and uses it, knowing nothing but the api package. It offers its result as a
 * {@link Callable} (a java.* type), so that the bundle imports nothing else.
 */
@Component(service = Callable.class, property = "itest.role=api-consumer")
public class KeystoreConsumer implements Callable<Map<String, Object>> {

    public static final KeyId KEY = KeyId.of("from-consumer", 1);

    @Reference(target = "(keystore.name=shared)")
    private Keystore keystore;

    /** Stores a key, reads it back, lists it; returns what it saw, in java.* types only. */
    @Override
    public Map<String, Object> call() {
        SealedKey record = SealedKey.of(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        KeyMetadata metadata = KeyMetadata.builder()
                .id(KEY)
                .type(KeyType.L4)
                .algorithm("AES")
                .keySize(128)
                .owner(Owner.service("consumer"))
                .createdAt(Instant.parse("2026-01-01T00:00:00Z"))
                .build();
        keystore.storeKey(KEY, record, metadata);
        StoredKey back = keystore.retrieveKey(KEY);

        Map<String, Object> seen = new HashMap<>();
        seen.put("key", KEY.toString());
        seen.put("roundTrip", back.sealed().equals(record) && back.metadata().equals(metadata));
        seen.put("listed", keystore.listKeys(KeyFilter.all()).keys().size());
        seen.put("up", keystore.health().isUp());
        return seen;
    }
}
