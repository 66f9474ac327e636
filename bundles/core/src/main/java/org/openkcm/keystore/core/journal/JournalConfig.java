package org.openkcm.keystore.core.journal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The configuration of the intent journal (PID {@value IntentJournal#PID}). */
@ObjectClassDefinition(name = "OpenKCM Keystore intent journal",
        description = "The durable journal of multi-step operations, replayed at start to finish or undo what a crash interrupted.")
public @interface JournalConfig {

    @AttributeDefinition(name = "Path",
            description = "The journal file. Empty: ${openkcm.home}/data/journal/intents.log when the framework property "
                    + "openkcm.home is set, else journal/intents.log in the core bundle's data area.")
    String path() default "";

    @AttributeDefinition(name = "Force step records",
            description = "Force every step record to disk, not only the begin and end records. Without it a step record "
                    + "lost to a power failure makes recovery repeat that step, which is safe: every step is idempotent.")
    boolean force_steps() default false;

    @AttributeDefinition(name = "Compaction threshold (bytes)",
            description = "When no operation is open and the file is larger than this, it is rewritten empty (atomically).")
    long compact_bytes() default JournalSettings.DEFAULT_COMPACT_BYTES;
}
