package org.openkcm.keystore.core.saga;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.openkcm.keystore.api.KeyId;

/**
 * What the steps of one run of a saga share: its id, the keys and parameters decided before the
 * first step (durable in the journal), and notes that steps leave for later steps (durable with the
 * step's record). Notes are small text (ids, counts, digests), never key material. Used by one
 * thread at a time.
 */
public final class SagaContext {
    private final UUID id;
    private final String kind;
    private final List<KeyId> keys;
    private final Map<String, String> params;
    private final Map<String, String> notes;
    private final Map<String, String> stepNotes = new LinkedHashMap<>();
    private final boolean recovering;
    private final Map<String, Object> attachments;

    SagaContext(UUID id, String kind, List<KeyId> keys, Map<String, String> params, Map<String, String> notes,
            boolean recovering) {
        this(id, kind, keys, params, notes, recovering, Map.of());
    }

    SagaContext(UUID id, String kind, List<KeyId> keys, Map<String, String> params, Map<String, String> notes,
            boolean recovering, Map<String, Object> attachments) {
        this.attachments = Map.copyOf(attachments);
        this.id = id;
        this.kind = kind;
        this.keys = List.copyOf(keys);
        this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        this.notes = new LinkedHashMap<>(notes);
        this.recovering = recovering;
    }

    public UUID id() {
        return id;
    }

    public String kind() {
        return kind;
    }

    public List<KeyId> keys() {
        return keys;
    }

    public Map<String, String> params() {
        return params;
    }

    /** A parameter the saga was started with. */
    public String param(String name) {
        String value = params.get(name);
        if (value == null) {
            throw new IllegalStateException("saga " + kind + " " + id + " has no parameter " + name);
        }
        return value;
    }

    public Optional<String> optionalParam(String name) {
        return Optional.ofNullable(params.get(name));
    }

    /** A note left by an earlier step (or by this one). */
    public Optional<String> note(String key) {
        return Optional.ofNullable(notes.get(key));
    }

    /** Leaves a note, recorded in the journal with this step's completion. */
    public void note(String key, String value) {
        notes.put(key, value);
        stepNotes.put(key, value);
    }

    /**
     * An object the caller handed to this run and that is not journaled (a sealed record prepared
     * before the first step, say). Absent in recovery: a step that needs one must be one that
     * recovery never runs (a step up to the commit point is compensated, not repeated).
     */
    public <T> T attachment(String key, Class<T> type) {
        Object value = attachments.get(key);
        if (value == null) {
            throw new IllegalStateException("saga " + kind + " " + id + ": " + key + " is not available"
                    + (recovering ? " in recovery: this step cannot be repeated after a crash" : ""));
        }
        return type.cast(value);
    }

    /** An attachment if the caller gave one (never in recovery). */
    public <T> Optional<T> optionalAttachment(String key, Class<T> type) {
        return Optional.ofNullable(attachments.get(key)).map(type::cast);
    }

    /** True when the run is recovery of an operation a crash interrupted. */
    public boolean recovering() {
        return recovering;
    }

    Map<String, String> takeStepNotes() {
        Map<String, String> out = Map.copyOf(stepNotes);
        stepNotes.clear();
        return out;
    }
}
