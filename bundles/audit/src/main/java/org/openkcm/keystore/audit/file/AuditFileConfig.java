package org.openkcm.keystore.audit.file;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "OpenKCM Keystore audit log",
        description = "Where and how the audit log writes one JSON line per audited call.")
public @interface AuditFileConfig {

    @AttributeDefinition(name = "Folder",
            description = "The folder of the audit files. Empty: ${openkcm.home}/data/audit when the framework "
                    + "property openkcm.home is set, else audit/ in the bundle's data area.")
    String directory() default "";

    @AttributeDefinition(name = "Rotate at (bytes)",
            description = "The current file (audit.log) is rotated to audit.log.1 before a line would take it past this size.")
    long max_file_bytes() default AuditFile.DEFAULT_MAX_FILE_BYTES;

    @AttributeDefinition(name = "Rotated files kept",
            description = "How many rotated files (audit.log.1 ... audit.log.N) are kept; the oldest beyond goes.")
    int max_files() default AuditFile.DEFAULT_MAX_FILES;

    @AttributeDefinition(name = "Force to disk",
            description = "always: every record is forced to the disk (fsync) before the call goes on; callers "
                    + "recording at the same time share one force. never: a record is in the operating system's "
                    + "page cache when the call goes on (survives a crash of the keystore, not of the machine).")
    String fsync() default "always";
}
