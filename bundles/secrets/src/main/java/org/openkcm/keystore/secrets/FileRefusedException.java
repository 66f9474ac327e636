package org.openkcm.keystore.secrets;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file refused before (or while) it is read: not a regular file, a symbolic link where none may
 * be followed, or larger than its cap. An {@link IOException}, so a caller that already maps read
 * failures to its own errors maps this one too; the message names the file and the rule.
 */
public final class FileRefusedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Path file;
    private final String rule;

    FileRefusedException(Path file, String rule) {
        super(file + ": " + rule);
        this.file = file;
        this.rule = rule;
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
