package org.openkcm.keystore.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;

/**
 * A real child JVM stores keys in a loop and prints each id once its store returned; the test
 * kills it with SIGKILL in the middle of the load, opens the folder again and checks that every
 * acknowledged key is there byte for byte, every acknowledged update too, and that no torn or
 * partial record is accepted: every file left is either a complete record or a temporary file,
 * which is removed. Three rounds on the same folder, each child continuing where the last stopped.
 */
class CrashTest {
    private static final int ROUNDS = 3;
    private static final int ACKS_BEFORE_KILL = 150;

    @TempDir
    Path folder;

    @Test
    void everyAcknowledgedKeySurvivesKillMinus9AndNoTornRecordIsAccepted() throws Exception {
        Path root = folder.resolve("keys");
        Map<Integer, Long> acknowledged = new HashMap<>(); // key number -> acknowledged revision
        // per round, the one key whose store may have completed at the kill before it was acknowledged
        Set<Integer> underWayAtAKill = new TreeSet<>();
        int next = 0;
        for (int round = 0; round < ROUNDS; round++) {
            Path log = folder.resolve("child-" + round + ".log");
            try (ChildJvm child = ChildJvm.start(log, "load", root.toString(), Integer.toString(next))) {
                int acks = 0;
                while (acks < ACKS_BEFORE_KILL) {
                    String line = child.next(60_000);
                    assertNotNull(line, () -> "the child stopped acknowledging: " + ChildJvm.stderrOf(log));
                    acks += record(line, acknowledged);
                }
                assertEquals(137, child.kill(), "killed by SIGKILL");
                child.drain().forEach(line -> record(line, acknowledged));
                underWayAtAKill.add(acknowledged.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1);
            }
            try (FileKeystore reopened = new FileKeystore(root, "crash", EnumSet.allOf(KeyType.class), null)) {
                assertEquals(0, countTempFiles(root), "temporary files are removed when the folder is opened");
                for (Map.Entry<Integer, Long> ack : acknowledged.entrySet()) {
                    int n = ack.getKey();
                    StoredKey stored = reopened.retrieveKey(LoadChild.id(n));
                    assertEquals(LoadChild.sealed(n), stored.sealed(), "sealed bytes of acknowledged key " + n);
                    KeyMetadata expected = LoadChild.metadata(n);
                    assertTrue(expected.sameImmutableFields(stored.metadata()), "metadata of key " + n);
                    assertTrue(stored.metadata().revision() >= ack.getValue(),
                            "key " + n + ": acknowledged revision " + ack.getValue() + ", found "
                                    + stored.metadata().revision());
                }
                List<KeyMetadata> listed = listAll(reopened);
                assertEquals(reopened.size(), listed.size(), "no damaged record file (every file is whole)");
                for (KeyMetadata m : listed) {
                    int n = Integer.parseInt(m.id().name().substring("crash-".length()));
                    // a key whose store was under way at a kill (this round's or an earlier one's) may be
                    // there (complete) or not: never torn
                    assertTrue(acknowledged.containsKey(n) || underWayAtAKill.contains(n),
                            "key " + n + " was never started (under way at a kill: " + underWayAtAKill + ")");
                    assertEquals(LoadChild.sealed(n), reopened.retrieveKey(m.id()).sealed());
                }
                next = listed.stream().map(m -> m.id().name()).map(name -> Integer.parseInt(name.substring(6)))
                        .collect(Collectors.toCollection(TreeSet::new)).last() + 1;
            }
        }
        assertTrue(acknowledged.size() >= ROUNDS * ACKS_BEFORE_KILL * 3 / 4, "acknowledged " + acknowledged.size());
    }

    /** @return 1 if the line acknowledges a store */
    private static int record(String line, Map<Integer, Long> acknowledged) {
        String[] parts = line.split(" ");
        if (parts[0].equals("stored")) {
            acknowledged.put(Integer.parseInt(parts[1]), 1L);
            return 1;
        }
        if (parts[0].equals("updated")) {
            acknowledged.put(Integer.parseInt(parts[1]), Long.parseLong(parts[2]));
        }
        return 0;
    }

    private static int countTempFiles(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return (int) files.filter(p -> p.getFileName().toString().contains(FileKeystore.TEMP_MARK)).count();
        }
    }

    private static List<KeyMetadata> listAll(FileKeystore keystore) {
        List<KeyMetadata> all = new java.util.ArrayList<>();
        KeyFilter filter = KeyFilter.builder().pageSize(Validation.MAX_PAGE_SIZE).build();
        while (true) {
            KeyPage page = keystore.listKeys(filter);
            all.addAll(page.keys());
            if (page.nextCursor().isEmpty()) {
                return all;
            }
            filter = filter.withCursor(page.nextCursor().get());
        }
    }
}
