package org.openkcm.keystore.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.openkcm.keystore.secrets.BoundedRead;
import org.openkcm.keystore.secrets.FileRefusedException;

/**
 * config.yaml and the environment file as text, through the project's one bounded read (regular
 * file, size cap before and while reading), with its refusals turned into {@link ConfigException}s.
 */
final class InputFile {

    private InputFile() {
    }

    /**
     * @return the file's text, or null when there is no such file
     * @throws ConfigException naming the file and the rule it breaks
     */
    static String readUtf8(Path file, int maxBytes) throws ConfigException {
        byte[] bytes;
        try {
            // Following links: a mounted ConfigMap is a link to a regular file; the target is what must be regular.
            bytes = BoundedRead.bytes(file, maxBytes, BoundedRead.Links.FOLLOW);
        } catch (NoSuchFileException e) {
            return null;
        } catch (FileRefusedException e) {
            throw new ConfigException(file.toString(), "", 0, e.rule());
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "", 0, "cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ConfigException(file.toString(), "", 0, "not UTF-8 text");
        }
    }
}
