package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Moving the keystore from the core's local file KEK to a ring sealed by OpenBao Transit, in a real
 * framework with the core, the Transit bundle and a real {@code bao server -dev}: records are
 * sealed under the file KEK; with Transit beside it, {@code seal.kek.id} switches sealing to it;
 * the core's re-wrap is interrupted twice (an outage before the backend writes, then one after it
 * wrote), each run's report and every key's KEK are checked, and the runs that follow finish the
 * move; every key then reads the same material with the file KEK off the allow-list.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class FileToTransitMoveIT extends KekTestSupport {
    private static final String TRANSIT_PID = "org.openkcm.keystore.kek.transit";
    private static final int KEYS = 10;

    /** Pax Exam may call the configuration method more than once: the root is set up once. */
    private static Option[] options;

    @Configuration
    public synchronized Option[] configuration() throws Exception {
        if (options == null) {
            options = setUpRoot();
        }
        return options;
    }

    private static Option[] setUpRoot() throws Exception {
        Path home = freshHome("file-to-transit-it");
        OpenBaoDevServer bao = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        TransitKeys.create(bao, "kek-file-move-itest", "file-move-root");
        Path secrets = Files.createDirectory(home.resolve("secrets"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        // KEK providers' secrets: under <home>/secrets/kek/, as the allow-list requires
        Path kekSecrets = Files.createDirectory(secrets.resolve("kek"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path token = secretFile(kekSecrets.resolve("bao-token"), Files.readString(bao.tokenFile).strip());
        return options(
                routingConfiguration(home),
                buildBundle("log"),
                buildBundle("kek-transit"),
                // the KEK providers read the allow-list from system properties only, and so not openkcm.home above
                systemProperty("openkcm.secrets.dir").value(secrets.toString()),
                systemProperty("itest.filemove.bao.address").value(bao.address),
                systemProperty("itest.filemove.bao.token.file").value(token.toString()));
    }

    @Test
    public void fileToTransitWithAnInterruptedRewrapThatFurtherRunsFinishAfterWhichTheFileKekLeavesTheAllowList()
            throws Exception {
        memoryBackend("memory-raw", 0);
        Keystore raw = awaitKeystore("memory-raw");
        FaultyKeystore memory = new FaultyKeystore(raw);
        register("memory", 0, memory);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        Path kekFolder = Path.of(bundleContext.getProperty("openkcm.home")).resolve("data/kek");

        // the file KEK seals while it is the only provider
        awaitKekIds("local");
        Map<KeyId, byte[]> materials = new LinkedHashMap<>();
        for (int i = 0; i < KEYS; i++) {
            KeyId id = awaitGenerate(ops, "key-" + i);
            materials.put(id, material(ops, id));
            assertEquals(id.toString(), "local", recordKekId(raw, id));
        }
        assertTrue(Files.readString(kekFolder.resolve("known-keks")).lines().anyMatch(l -> l.matches("local 1 \\S+ used")));

        // Transit beside it, then named as the sealing KEK: new records are sealed under the Transit-sealed ring
        Map<String, Object> transit = new HashMap<>();
        transit.put("ring.file", kekFolder.resolve("transit.ring").toString());
        transit.put("address", System.getProperty("itest.filemove.bao.address"));
        transit.put("mount", "kek-file-move-itest");
        transit.put("key.name", "file-move-root");
        transit.put("token.source", "file:" + System.getProperty("itest.filemove.bao.token.file"));
        configure(TRANSIT_PID, transit);
        awaitKekIds("local", "transit");
        configure(OPERATIONS_PID, Map.of("seal.kek.id", "transit"));
        awaitOperations("transit", null);
        KeyId afterSwitch = awaitGenerate(ops, "after-switch");
        materials.put(afterSwitch, material(ops, afterSwitch));
        assertEquals("transit", recordKekId(raw, afterSwitch));
        assertTrue(Files.readString(kekFolder.resolve("transit.ring")).contains("\nopenkcm-sealed-kek-ring 2 transit\n"));
        assertTrue("the file KEK's records still open", opens(ops, KeyId.of("key-0", 1)));

        finishMoveByInterruptedRewraps(new KekMove("local", "transit", raw, memory, ops, admin, kekFolder, materials),
                () -> { });
    }
}
