package org.openkcm.keystore.secrets;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A file refused before (or while) it is read: not a regular file, a symbolic link where none may
 * be followed, or larger than its cap. An {@link IOException}, so a caller that already maps read
 * failures to its own errors maps this one too; the message names the file and the rule.
 */
public final class FileRefusedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Path file;
    private final String rule;
    private final boolean oversized;

    FileRefusedException(Path file, String rule) {
        this(file, rule, false);
    }

    private FileRefusedException(Path file, String rule, boolean oversized) {
        super(file + ": " + rule);
        this.file = file;
        this.rule = rule;
        this.oversized = oversized;
    }

    /** A directory, FIFO, socket or device where a regular file is read. */
    static FileRefusedException notRegular(Path file, BasicFileAttributes attributes) {
        String kind = attributes.isDirectory() ? "a directory" : attributes.isOther() ? "a FIFO, socket or device"
                : "not a file";
        return new FileRefusedException(file, "not a regular file (" + kind + ")");
    }

    /** A file over its cap, found before or while it was read. */
    static FileRefusedException tooLarge(Path file, long maxBytes) {
        return new FileRefusedException(file, "larger than " + maxBytes + " bytes", true);
    }

    /** True if the file was refused for its size, not for what it is. */
    public boolean oversized() {
        return oversized;
    }

    /** The rule the file breaks, without the file's name (for callers that name it their own way). */
    public String rule() {
        return rule;
    }

    /** The file refused. */
    public Path file() {
        return file;
    }
}
