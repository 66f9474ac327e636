package org.openkcm.keystore.core.journal;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What opening a journal found.
 *
 * @param unfinished the operations that began and did not end, in the order they began
 * @param records how many records were read and trusted
 * @param damage what was wrong with the file, if anything
 * @param detail a sentence on the damage (offset, cause), or empty
 * @param discardedBytes bytes not trusted: a torn tail cut off, or everything from a corruption on
 * @param quarantined where a file corrupt before its end was moved, kept for inspection
 */
public record ReplayReport(List<Intent> unfinished, int records, Damage damage, String detail, long discardedBytes,
        Optional<Path> quarantined) {

    /** The kinds of damage a journal can have. */
    public enum Damage {
        NONE,
        /** The last record is incomplete or fails its checksum (a write cut short by a crash): cut off. */
        TORN_TAIL,
        /**
         * A record before the end fails its checksum or cannot be read: replay stopped there, the file
         * was moved aside and a new one holds the intents read up to that point. Operations recorded
         * after the damage are unknown; reconciliation finds what they left behind.
         */
        CORRUPT
    }

    public ReplayReport {
        unfinished = List.copyOf(unfinished);
    }
}
