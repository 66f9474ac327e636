package org.openkcm.keystore.api;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One page of {@link Keystore#listKeys}: metadata only, in {@link KeyId} order, and the cursor of the next page.
 * A page merged from several backends also names the backends that could not be read for it
 * ({@link #unreadable()}), whose keys it therefore lacks.
 */
public final class KeyPage {
    private final List<KeyMetadata> keys;
    private final String nextCursor;
    private final List<String> unreadable;

    private KeyPage(List<KeyMetadata> keys, String nextCursor, List<String> unreadable) {
        this.keys = List.copyOf(keys);
        this.nextCursor = nextCursor;
        this.unreadable = List.copyOf(unreadable);
    }

    /** @param nextCursor the cursor of the next page, or null if this is the last */
    public static KeyPage of(List<KeyMetadata> keys, String nextCursor) {
        return new KeyPage(keys, nextCursor, List.of());
    }

    /**
     * A page that lacks the keys of some backends.
     *
     * @param nextCursor the cursor of the next page, or null if this is the last
     * @param unreadable one entry per backend that could not be read, {@code name: reason}
     * @since 1.1
     */
    public static KeyPage of(List<KeyMetadata> keys, String nextCursor, List<String> unreadable) {
        return new KeyPage(keys, nextCursor, unreadable);
    }

    /**
     * The page of {@code orderedKeys} that the filter asks for. The keys must come in ascending
     * {@link KeyId} order; they are read only as far as the page needs (one past its end). Keys
     * added while a caller pages are seen if they sort after the cursor, and no key present
     * throughout is repeated or missed.
     */
    public static KeyPage select(Iterable<KeyMetadata> orderedKeys, KeyFilter filter) {
        KeyId after = filter.cursor().map(KeyPage::positionOf).orElse(null);
        List<KeyMetadata> page = new ArrayList<>(Math.min(filter.pageSize(), 64));
        for (KeyMetadata key : orderedKeys) {
            if ((after != null && key.id().compareTo(after) <= 0) || !filter.matches(key)) {
                continue;
            }
            if (page.size() == filter.pageSize()) {
                return of(page, cursorAfter(page.get(page.size() - 1).id()));
            }
            page.add(key);
        }
        return of(page, null);
    }

    /** The cursor that continues after the given key: its position in {@link KeyId} order. */
    public static String cursorAfter(KeyId last) {
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString(last.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The key after which a cursor made by {@link #cursorAfter} continues.
     *
     * @throws InvalidInputException if the cursor was not made by {@link #cursorAfter}
     */
    public static KeyId positionOf(String cursor) {
        try {
            return KeyId.parse(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException | InvalidInputException e) {
            throw new InvalidInputException("filter.cursor", "is not a cursor returned by a previous page");
        }
    }

    public List<KeyMetadata> keys() {
        return keys;
    }

    public Optional<String> nextCursor() {
        return Optional.ofNullable(nextCursor);
    }

    /**
     * The backends that could not be read for this page, each as {@code name: reason}; empty when
     * every backend was read. A caller that must see every key treats a non-empty list as incomplete.
     *
     * @since 1.1
     */
    public List<String> unreadable() {
        return unreadable;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyPage other && keys.equals(other.keys) && Objects.equals(nextCursor, other.nextCursor)
                && unreadable.equals(other.unreadable);
    }

    @Override
    public int hashCode() {
        return Objects.hash(keys, nextCursor, unreadable);
    }

    @Override
    public String toString() {
        return "KeyPage[" + keys.size() + " keys, next=" + nextCursor
                + (unreadable.isEmpty() ? "" : ", unreadable=" + unreadable) + "]";
    }
}
