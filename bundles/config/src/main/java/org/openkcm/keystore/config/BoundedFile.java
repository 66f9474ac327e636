package org.openkcm.keystore.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reads an input file only if it is a regular file of at most a given size: a FIFO or a device
 * would block or never end, and an oversized file would fill the heap before any parser could
 * refuse it. The cap is also enforced while reading, since the file may grow after it is checked.
 */
final class BoundedFile {

    private BoundedFile() {
    }

    /**
     * @return the file's text, or null when there is no such file
     * @throws ConfigException naming the file and the rule it breaks
     */
    static String readUtf8(Path file, int maxBytes) throws ConfigException {
        BasicFileAttributes attributes;
        try {
            // Following links: a mounted ConfigMap is a link to a regular file; the target is what must be regular.
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "", 0, "cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        if (!attributes.isRegularFile()) {
            throw new ConfigException(file.toString(), "", 0, "not a regular file");
        }
        if (attributes.size() > maxBytes) {
            throw tooLarge(file, maxBytes);
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(maxBytes + 1);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "", 0, "cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        if (bytes.length > maxBytes) {
            throw tooLarge(file, maxBytes);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ConfigException(file.toString(), "", 0, "not UTF-8 text");
        }
    }

    private static ConfigException tooLarge(Path file, int maxBytes) {
        return new ConfigException(file.toString(), "", 0, "larger than " + maxBytes + " bytes");
    }
}
