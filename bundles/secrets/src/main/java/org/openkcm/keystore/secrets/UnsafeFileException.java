package org.openkcm.keystore.secrets;

import java.io.IOException;

/**
 * An owner-only file refused because someone other than the process user could have written or
 * swapped it: a symbolic link, another owner, a mode open to group or others, a folder others may
 * write, or a file replaced while it was read. The message is one line naming the file, the rule
 * and the fix; nothing was loaded from the file and it was left as it was.
 */
public final class UnsafeFileException extends IOException {
    private static final long serialVersionUID = 1L;

    UnsafeFileException(String message) {
        super(message);
    }
}
