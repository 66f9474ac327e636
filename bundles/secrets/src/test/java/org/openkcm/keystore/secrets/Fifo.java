package org.openkcm.keystore.secrets;

import java.io.IOException;
import java.nio.file.Path;

/** The JDK cannot make a FIFO: mkfifo(1) does. */
final class Fifo {
    private Fifo() {
    }

    static Path make(Path path) throws IOException, InterruptedException {
        int exit = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start().waitFor();
        if (exit != 0) {
            throw new IOException("mkfifo " + path + " exited with " + exit);
        }
        return path;
    }
}
