package org.openkcm.keystore.openbao;

import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;

import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;

/**
 * The KV v2 data of a record and of an index entry. A record holds the sealed bytes in base64
 * and each metadata field as its own KV field (times in ISO-8601 UTC, tags as a JSON object), so
 * {@code bao kv get} shows exactly what is stored and nothing else: no token, no plaintext.
 */
final class Records {
    static final String FORMAT = "openkcm-keystore-openbao/1";

    // Field names of a record.
    static final String F_FORMAT = "format";
    static final String F_ID = "key_id";
    static final String F_SEALED = "sealed";
    static final String F_TYPE = "type";
    static final String F_ALGORITHM = "algorithm";
    static final String F_KEY_SIZE = "key_size";
    static final String F_STATUS = "status";
    static final String F_EXPIRY = "expiry";
    static final String F_OWNER_KIND = "owner_kind";
    static final String F_OWNER_ID = "owner_id";
    static final String F_REGION = "region";
    static final String F_PARENT = "parent";
    static final String F_TAGS = "tags";
    static final String F_CREATED = "created";
    static final String F_UPDATED = "updated";
    static final String F_REVISION = "revision";
    static final String F_LIFECYCLE_MAC = "lifecycle_mac";

    // Field names of an index entry.
    static final String I_LOCATION = "location";
    static final String I_STATE = "state";
    static final String LIVE = "live";
    /** A delete has begun: the key is gone for readers; the record may still be there. */
    static final String DELETING = "deleting";

    private Records() {
    }

    /** The KV data of a record. */
    static Map<String, Object> record(SealedKey sealed, KeyMetadata m) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put(F_FORMAT, FORMAT);
        data.put(F_ID, m.id().toString());
        data.put(F_SEALED, Base64.getEncoder().encodeToString(sealed.bytes()));
        data.put(F_TYPE, m.type().name());
        data.put(F_ALGORITHM, m.algorithm());
        data.put(F_KEY_SIZE, m.keySize());
        data.put(F_STATUS, m.status().name());
        m.expiry().ifPresent(expiry -> data.put(F_EXPIRY, expiry.toString()));
        data.put(F_OWNER_KIND, m.owner().kind().label());
        data.put(F_OWNER_ID, m.owner().id());
        m.region().ifPresent(region -> data.put(F_REGION, region));
        m.parent().ifPresent(parent -> data.put(F_PARENT, parent.toString()));
        JsonObject tags = new JsonObject();
        m.tags().forEach(tags::add);
        data.put(F_TAGS, tags);
        data.put(F_CREATED, m.created().toString());
        data.put(F_UPDATED, m.updated().toString());
        data.put(F_REVISION, m.revision());
        m.lifecycleMac().ifPresent(mac -> data.put(F_LIFECYCLE_MAC, mac));
        return data;
    }

    /**
     * Reads a record back.
     *
     * @throws IntegrityException if the data is not a record of this id written by this backend
     */
    static StoredKey storedKey(KeyId id, JsonObject data) {
        try {
            if (!FORMAT.equals(string(data, F_FORMAT))) {
                throw new IntegrityException(id, "the OpenBao record has an unknown format");
            }
            if (!id.toString().equals(string(data, F_ID))) {
                throw new IntegrityException(id, "the OpenBao record belongs to another key id");
            }
            SealedKey sealed = SealedKey.of(Base64.getDecoder().decode(string(data, F_SEALED)));
            Map<String, String> tags = new TreeMap<>();
            JsonValue tagValue = data.get(F_TAGS);
            if (tagValue != null && tagValue.isObject()) {
                for (JsonObject.Member tag : tagValue.asObject()) {
                    tags.put(tag.getName(), tag.getValue().asString());
                }
            }
            String parent = optional(data, F_PARENT);
            String expiry = optional(data, F_EXPIRY);
            KeyMetadata metadata = KeyMetadata.builder()
                    .id(id)
                    .type(KeyType.valueOf(string(data, F_TYPE)))
                    .algorithm(string(data, F_ALGORITHM))
                    .keySize(data.get(F_KEY_SIZE).asInt())
                    .status(KeyStatus.valueOf(string(data, F_STATUS)))
                    .expiry(expiry == null ? null : Instant.parse(expiry))
                    .owner(Owner.of(OwnerKind.valueOf(string(data, F_OWNER_KIND).toUpperCase(Locale.ROOT)),
                            string(data, F_OWNER_ID)))
                    .region(optional(data, F_REGION))
                    .parent(parent == null ? null : KeyId.parse(parent))
                    .tags(tags)
                    .created(Instant.parse(string(data, F_CREATED)))
                    .updated(Instant.parse(string(data, F_UPDATED)))
                    .revision(data.get(F_REVISION).asLong())
                    .lifecycleMac(optional(data, F_LIFECYCLE_MAC))
                    .build();
            return StoredKey.of(sealed, metadata);
        } catch (IntegrityException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IntegrityException(id, "the OpenBao record cannot be read back (" + e.getClass().getSimpleName()
                    + "); it was not written by this backend or was altered");
        }
    }

    /** The KV data of an index entry. */
    static Map<String, Object> index(KeyId id, String location, String state) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put(F_FORMAT, FORMAT);
        data.put(F_ID, id.toString());
        data.put(I_LOCATION, location);
        data.put(I_STATE, state);
        return data;
    }

    private static String string(JsonObject data, String field) {
        JsonValue value = data.get(field);
        if (value == null || !value.isString()) {
            throw new IllegalArgumentException("missing field " + field);
        }
        return value.asString();
    }

    private static String optional(JsonObject data, String field) {
        JsonValue value = data.get(field);
        return value == null || value.isNull() ? null : value.asString();
    }
}
