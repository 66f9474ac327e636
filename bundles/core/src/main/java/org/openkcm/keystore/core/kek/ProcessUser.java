package org.openkcm.keystore.core.kek;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;

/**
 * The user this process runs as, as a file owner. On Linux that is the owner of
 * {@code /proc/self} (the effective user, which {@code -Duser.name} cannot change); elsewhere the
 * principal named by {@code user.name}.
 */
final class ProcessUser {
    private static final Path PROC_SELF = Path.of("/proc/self");

    private ProcessUser() {
    }

    /** The process user, looked up on the file system of {@code near}; null if it cannot be told. */
    static UserPrincipal principal(Path near) {
        try {
            if (Files.isDirectory(PROC_SELF)) {
                return Files.getOwner(PROC_SELF);
            }
            return near.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByName(System.getProperty("user.name"));
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
