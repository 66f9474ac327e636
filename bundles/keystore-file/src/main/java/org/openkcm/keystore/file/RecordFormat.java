package org.openkcm.keystore.file;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;

/**
 * The layout of one key version's file, self-describing and checksummed:
 * <pre>
 *   file    := magic version:u16 length:u32 crc:u32 content[length]      (big-endian)
 *   magic   := "OKCMKEY" 0x00                                           (8 bytes)
 *   version := 1
 *   crc     := CRC32C(version ‖ length ‖ content)
 *   content := name:utf number:i32 type:utf algorithm:utf keySize:i32 status:utf
 *              expiry:opt(i64 ms) ownerKind:utf ownerId:utf region:opt(utf)
 *              parent:opt(utf i32) tags:i32 (key:utf value:utf)* created:i64 ms updated:i64 ms
 *              revision:i64 lifecycleMac:opt(utf) sealed:i32 bytes[sealed]
 * </pre>
 * (utf: Java modified UTF-8 with a u16 length; opt(x): a byte 0, or 1 then x.) Enums are written
 * by name, so a reordered enum never changes a stored value. A file is accepted only if its magic
 * and version are known, its length is exactly what the header says, its checksum matches, its
 * content parses to the end with nothing left over, and every value passes the api's
 * {@link org.openkcm.keystore.api.Validation} rules; anything else is {@link Damaged}.
 */
final class RecordFormat {
    static final byte[] MAGIC = {'O', 'K', 'C', 'M', 'K', 'E', 'Y', 0};
    static final int VERSION = 1;
    /** magic, version, length, crc */
    static final int HEADER = MAGIC.length + 2 + 4 + 4;
    /** Far above the largest record plus metadata the api allows; a length beyond it is damage. */
    static final int MAX_CONTENT = 1 << 20;

    private RecordFormat() {
    }

    /** Why a file cannot be accepted. Its message never holds record bytes. */
    static final class Damaged extends Exception {
        private static final long serialVersionUID = 1L;

        Damaged(String why) {
            super(why);
        }

        Damaged(String why, Throwable cause) {
            super(why, cause);
        }
    }

    static byte[] encode(SealedKey sealed, KeyMetadata m) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(HEADER + 256 + sealed.length());
        buffer.writeBytes(new byte[HEADER]);
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            out.writeUTF(m.id().name());
            out.writeInt(m.id().version());
            out.writeUTF(m.type().name());
            out.writeUTF(m.algorithm());
            out.writeInt(m.keySize());
            out.writeUTF(m.status().name());
            writeOptionalLong(out, m.expiry().map(Instant::toEpochMilli).orElse(null));
            out.writeUTF(m.owner().kind().name());
            out.writeUTF(m.owner().id());
            writeOptionalUtf(out, m.region().orElse(null));
            if (m.parent().isPresent()) {
                out.writeByte(1);
                out.writeUTF(m.parent().get().name());
                out.writeInt(m.parent().get().version());
            } else {
                out.writeByte(0);
            }
            out.writeInt(m.tags().size());
            for (Map.Entry<String, String> tag : m.tags().entrySet()) {
                out.writeUTF(tag.getKey());
                out.writeUTF(tag.getValue());
            }
            out.writeLong(m.created().toEpochMilli());
            out.writeLong(m.updated().toEpochMilli());
            out.writeLong(m.revision());
            writeOptionalUtf(out, m.lifecycleMac().orElse(null));
            byte[] bytes = sealed.bytes();
            out.writeInt(bytes.length);
            out.write(bytes);
            Arrays.fill(bytes, (byte) 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        byte[] file = buffer.toByteArray();
        ByteBuffer header = ByteBuffer.wrap(file, 0, HEADER);
        header.put(MAGIC).putShort((short) VERSION).putInt(file.length - HEADER);
        header.putInt(crc(file));
        return file;
    }

    /**
     * The record and metadata a file holds.
     *
     * @throws Damaged if the file is torn, altered or not a record file of a known version
     */
    static StoredKey decode(byte[] file) throws Damaged {
        if (file.length < HEADER) {
            throw new Damaged("shorter (" + file.length + " bytes) than the " + HEADER + "-byte header");
        }
        ByteBuffer header = ByteBuffer.wrap(file, 0, HEADER);
        byte[] magic = new byte[MAGIC.length];
        header.get(magic);
        if (!Arrays.equals(MAGIC, magic)) {
            throw new Damaged("not a key record file (bad magic)");
        }
        int version = Short.toUnsignedInt(header.getShort());
        if (version != VERSION) {
            throw new Damaged("unknown format version " + version + " (this backend reads version " + VERSION + ")");
        }
        long length = Integer.toUnsignedLong(header.getInt());
        if (length > MAX_CONTENT || length != file.length - HEADER) {
            throw new Damaged("torn: the header announces " + length + " content bytes, the file holds "
                    + (file.length - HEADER));
        }
        int stored = header.getInt();
        if (stored != crc(file)) {
            throw new Damaged("checksum mismatch (CRC32C)");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(file, HEADER, file.length - HEADER))) {
            KeyId id = KeyId.of(in.readUTF(), in.readInt());
            KeyMetadata.Builder m = KeyMetadata.builder().id(id);
            m.type(KeyType.valueOf(in.readUTF()));
            m.algorithm(in.readUTF());
            m.keySize(in.readInt());
            m.status(KeyStatus.valueOf(in.readUTF()));
            Long expiry = readOptionalLong(in);
            m.expiry(expiry == null ? null : Instant.ofEpochMilli(expiry));
            m.owner(Owner.of(OwnerKind.valueOf(in.readUTF()), in.readUTF()));
            m.region(readOptionalUtf(in));
            if (readFlag(in)) {
                m.parent(KeyId.of(in.readUTF(), in.readInt()));
            }
            int tagCount = in.readInt();
            if (tagCount < 0 || tagCount > 1024) {
                throw new Damaged("bad tag count " + tagCount);
            }
            Map<String, String> tags = new TreeMap<>();
            for (int i = 0; i < tagCount; i++) {
                tags.put(in.readUTF(), in.readUTF());
            }
            m.tags(tags);
            m.created(Instant.ofEpochMilli(in.readLong()));
            m.updated(Instant.ofEpochMilli(in.readLong()));
            m.revision(in.readLong());
            m.lifecycleMac(readOptionalUtf(in));
            int sealedLength = in.readInt();
            if (sealedLength < 0 || sealedLength != in.available()) {
                throw new Damaged("the sealed record's length " + sealedLength + " does not match the "
                        + in.available() + " bytes left");
            }
            byte[] sealed = in.readNBytes(sealedLength);
            try {
                return StoredKey.of(SealedKey.of(sealed), m.build());
            } finally {
                Arrays.fill(sealed, (byte) 0);
            }
        } catch (IOException | IllegalArgumentException | KeystoreException e) {
            // EOF, a bad enum name, or a value the api's rules refuse: never accepted
            throw new Damaged("content does not parse: " + e.getMessage(), e);
        }
    }

    private static int crc(byte[] file) {
        CRC32C crc = new CRC32C();
        crc.update(file, MAGIC.length, 6); // version and length
        crc.update(file, HEADER, file.length - HEADER);
        return (int) crc.getValue();
    }

    private static void writeOptionalUtf(DataOutputStream out, String value) throws IOException {
        if (value == null) {
            out.writeByte(0);
        } else {
            out.writeByte(1);
            out.writeUTF(value);
        }
    }

    private static void writeOptionalLong(DataOutputStream out, Long value) throws IOException {
        if (value == null) {
            out.writeByte(0);
        } else {
            out.writeByte(1);
            out.writeLong(value);
        }
    }

    private static boolean readFlag(DataInputStream in) throws IOException, Damaged {
        int flag = in.readUnsignedByte();
        if (flag > 1) {
            throw new Damaged("bad presence flag " + flag);
        }
        return flag == 1;
    }

    private static String readOptionalUtf(DataInputStream in) throws IOException, Damaged {
        return readFlag(in) ? in.readUTF() : null;
    }

    private static Long readOptionalLong(DataInputStream in) throws IOException, Damaged {
        return readFlag(in) ? in.readLong() : null;
    }

    /** For messages: the magic as text. */
    static String magicText() {
        return new String(MAGIC, 0, MAGIC.length - 1, StandardCharsets.US_ASCII);
    }
}
