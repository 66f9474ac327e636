package org.openkcm.keystore.file;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Map;
import java.util.SplittableRandom;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;

/**
 * The child JVM of the crash and lock tests (started with the test class path):
 * <ul>
 * <li>{@code load <folder> <first>}: opens a file keystore on the folder and stores keys
 * {@code crash-<first>}, {@code crash-<first+1>}, … for ever; after each store returns it prints
 * {@code stored <n>}, and after each metadata update of a key it stored (every third) it prints
 * {@code updated <n> <revision>}.</li>
 * <li>{@code hold <folder>}: opens the folder, prints {@code holding}, and waits until killed.</li>
 * </ul>
 */
public final class LoadChild {
    static final Instant T0 = Instant.parse("2026-02-01T00:00:00Z");

    private LoadChild() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        FileKeystore keystore = new FileKeystore(Path.of(args[1]), "crash", EnumSet.allOf(KeyType.class), null);
        if (args[0].equals("hold")) {
            out.println("holding");
            out.flush();
            Thread.sleep(Long.MAX_VALUE);
            return;
        }
        for (int n = Integer.parseInt(args[2]); ; n++) {
            KeyId id = id(n);
            keystore.storeKey(id, sealed(n), metadata(n));
            out.println("stored " + n);
            out.flush();
            if (n % 3 == 0) {
                KeyMetadata next = metadata(n).toBuilder().tags(Map.of("touched", "yes")).revision(2)
                        .updated(T0.plusSeconds(1)).build();
                keystore.updateKeyMetadata(id, next);
                out.println("updated " + n + " 2");
                out.flush();
            }
        }
    }

    static KeyId id(int n) {
        return KeyId.of("crash-" + n, 1);
    }

    /** Sizes from a few bytes to 40 KiB, so a kill often lands in the middle of a write. */
    static SealedKey sealed(int n) {
        SplittableRandom random = new SplittableRandom(n);
        byte[] bytes = new byte[16 + random.nextInt(40 * 1024)];
        random.nextBytes(bytes);
        return SealedKey.of(bytes);
    }

    static KeyMetadata metadata(int n) {
        return KeyMetadata.builder().id(id(n)).type(KeyType.values()[n % 3]).algorithm("AES").keySize(256)
                .owner(Owner.tenant("tenant-" + (n % 4))).createdAt(T0).build();
    }
}
