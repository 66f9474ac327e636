package org.openkcm.keystore.secrets;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Set;

/**
 * Reads a file only if it is a regular file of at most a given size. A FIFO or a device would block
 * the reader or never end, and an oversized file would fill the heap before any parser could refuse
 * it; both are refused before the file is opened. The cap also holds while reading, since a file
 * may grow after it was checked. With {@link Links#REFUSE} a symbolic link is refused and the file
 * is opened without following one.
 * <p>
 * A missing file is reported as {@link java.nio.file.NoSuchFileException}, so callers that treat
 * an absent file as empty keep doing so.
 */
public final class BoundedRead {

    /** Whether a symbolic link to a regular file is read or refused. */
    public enum Links {
        /** A link is followed; its target must be a regular file (e.g. a mounted ConfigMap or Secret). */
        FOLLOW,
        /** A link is refused, and the file is opened without following one. */
        REFUSE
    }

    /** PEM certificates and keys, CA bundles, key material files, KEK rings, credentials. */
    public static final int KEY_FILE_BYTES = 64 * 1024;

    private BoundedRead() {
    }

    /**
     * @return the file's bytes (the caller wipes them if they are secret)
     * @throws FileRefusedException if the file is not regular, a refused link, or over the cap
     */
    public static byte[] bytes(Path file, int maxBytes, Links links) throws IOException {
        try (InputStream in = stream(file, maxBytes, links)) {
            return in.readAllBytes();
        }
    }

    /** The file's text in the given charset (malformed input replaced). */
    public static String text(Path file, int maxBytes, Links links, Charset charset) throws IOException {
        return new String(bytes(file, maxBytes, links), charset);
    }

    /** The file's lines (as {@link String#lines()} splits them). */
    public static List<String> lines(Path file, int maxBytes, Links links, Charset charset) throws IOException {
        return text(file, maxBytes, links, charset).lines().toList();
    }

    /**
     * A stream over the file that fails with {@link FileRefusedException} once more than
     * {@code maxBytes} were read: for a reader that parses as it reads (a certificate factory, a
     * digest over a large executable).
     */
    public static InputStream stream(Path file, long maxBytes, Links links) throws IOException {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes < 0");
        }
        LinkOption[] noFollow = links == Links.REFUSE ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS} : new LinkOption[0];
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class, noFollow);
        if (attributes.isSymbolicLink()) {
            throw new FileRefusedException(file, "is a symbolic link; it is read only as the file itself");
        }
        if (!attributes.isRegularFile()) {
            throw FileRefusedException.notRegular(file, attributes);
        }
        if (attributes.size() > maxBytes) {
            throw tooLarge(file, maxBytes);
        }
        Set<OpenOption> options = links == Links.REFUSE
                ? Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS) : Set.of(StandardOpenOption.READ);
        return new Capped(Channels.newInputStream(Files.newByteChannel(file, options)), file, maxBytes);
    }

    /**
     * Reads an already opened and checked channel (e.g. one opened through a
     * {@link java.nio.file.SecureDirectoryStream}) to its end, failing past the cap.
     *
     * @param file named in the message
     */
    public static byte[] bytes(java.nio.channels.SeekableByteChannel channel, Path file, int maxBytes) throws IOException {
        if (channel.size() > maxBytes) {
            throw tooLarge(file, maxBytes);
        }
        // Not closed here: the caller owns the channel.
        InputStream in = new Capped(Channels.newInputStream(channel), file, maxBytes);
        return in.readAllBytes();
    }

    private static FileRefusedException tooLarge(Path file, long maxBytes) {
        return FileRefusedException.tooLarge(file, maxBytes);
    }

    /** Counts what is read and fails past the cap. */
    private static final class Capped extends FilterInputStream {
        private final Path file;
        private final long maxBytes;
        private long read;

        Capped(InputStream in, Path file, long maxBytes) {
            super(in);
            this.file = file;
            this.maxBytes = maxBytes;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, (int) Math.min(length, maxBytes - read + 1));
            if (n > 0) {
                count(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(Math.min(n, maxBytes - read + 1));
            count(skipped);
            return skipped;
        }

        private void count(long n) throws FileRefusedException {
            read += n;
            if (read > maxBytes) {
                throw tooLarge(file, maxBytes);
            }
        }
    }
}
