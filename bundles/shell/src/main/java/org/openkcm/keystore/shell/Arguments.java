package org.openkcm.keystore.shell;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;

/** Turns shell words into api values; every refusal is an {@link InvalidInputException} naming the option. */
final class Arguments {
    /** The absentValue of optional Gogo parameters: no user can type it, so "not given" is unambiguous. */
    static final String ABSENT = "\u0000absent";
    /**
     * The absentValue of options a command cannot run without: {@link Usage} lists them as
     * required, and {@link #required} refuses the command when one is missing.
     */
    static final String REQUIRED = "\u0000required";

    private Arguments() {
    }

    static boolean given(String value) {
        return !ABSENT.equals(value) && !REQUIRED.equals(value);
    }

    /**
     * The value of a required option; if it was not given, a {@link UsageException} with the
     * command's usage line.
     */
    static String required(String command, String option, String value) {
        if (REQUIRED.equals(value) || ABSENT.equals(value)) {
            throw new UsageException(Usage.of(command) + " (" + option + " is required)");
        }
        return value;
    }

    /** A filter selecting by the options every key-selecting command takes; absent options select everything. */
    static KeyFilter.Builder selection(String owner, String ownerKind, String type, String region) {
        KeyFilter.Builder filter = KeyFilter.builder();
        if (given(owner)) {
            filter.owner(owner("--owner", owner));
        }
        if (given(ownerKind)) {
            filter.ownerKind(ownerKind("--owner-kind", ownerKind));
        }
        if (given(type)) {
            filter.type(type("--type", type));
        }
        if (given(region)) {
            filter.region(region);
        }
        return filter;
    }

    /** {@code kind/id}, e.g. {@code tenant/acme}. */
    static Owner owner(String option, String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new InvalidInputException(option, "must be written as kind/id, kind one of tenant, service, node");
        }
        return Owner.of(ownerKind(option, text.substring(0, slash)), text.substring(slash + 1));
    }

    static OwnerKind ownerKind(String option, String text) {
        return constant(OwnerKind.class, option, text);
    }

    static KeyType type(String option, String text) {
        return constant(KeyType.class, option, text);
    }

    static KeyStatus status(String option, String text) {
        return constant(KeyStatus.class, option, text);
    }

    /** An ISO-8601 instant such as {@code 2027-01-01T00:00:00Z}, or {@code none}. */
    static Instant instantOrNone(String option, String text) {
        if ("none".equalsIgnoreCase(text)) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new InvalidInputException(option, "must be an ISO-8601 instant such as 2027-01-01T00:00:00Z, or none");
        }
    }

    /** {@code key=value} words into a map, in order. */
    static Map<String, String> tags(String option, List<String> words) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (String word : words) {
            int eq = word.indexOf('=');
            if (eq <= 0) {
                throw new InvalidInputException(option, "each tag must be written as key=value");
            }
            tags.put(word.substring(0, eq), word.substring(eq + 1));
        }
        return tags;
    }

    static int positive(String option, String text) {
        try {
            int value = Integer.parseInt(text);
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new InvalidInputException(option, "must be a whole number greater than 0");
    }

    static long revision(String option, String text) {
        try {
            long value = Long.parseLong(text);
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new InvalidInputException(option, "must be a revision number (1 or more)");
    }

    private static <E extends Enum<E>> E constant(Class<E> type, String option, String text) {
        try {
            return Enum.valueOf(type, text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            StringBuilder allowed = new StringBuilder();
            for (E constant : type.getEnumConstants()) {
                allowed.append(allowed.length() == 0 ? "" : ", ").append(constant.name());
            }
            throw new InvalidInputException(option, "must be one of " + allowed);
        }
    }
}
