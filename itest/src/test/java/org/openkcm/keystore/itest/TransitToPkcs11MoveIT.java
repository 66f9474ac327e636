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
import org.openkcm.keystore.kek.pkcs11.testing.SoftHsm;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Moving the keystore from a KEK ring sealed by OpenBao Transit to one sealed by a PKCS#11 token,
 * in a real framework with the core, both provider bundles, a real {@code bao server -dev} and a
 * SoftHSM2 token (set up outside the framework by the configuration method): records are sealed
 * under Transit; with the PKCS#11 provider beside it, {@code seal.kek.id} switches sealing to it;
 * the core's re-wrap is interrupted twice (an outage before the backend writes, then one after it
 * wrote) and each run reports what it moved and what failed; the runs that follow finish the move;
 * every key then reads the same material with Transit off the allow-list and its provider gone.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class TransitToPkcs11MoveIT extends KekTestSupport {
    private static final String TRANSIT_PID = "org.openkcm.keystore.kek.transit";
    private static final String PKCS11_PID = "org.openkcm.keystore.kek.pkcs11";
    private static final int KEYS = 10;

    /** Pax Exam may call the configuration method more than once: the roots are set up once. */
    private static Option[] options;

    @Configuration
    public synchronized Option[] configuration() throws Exception {
        if (options == null) {
            options = setUpRoots();
        }
        return options;
    }

    private static Option[] setUpRoots() throws Exception {
        Path home = Files.createTempDirectory(Files.createDirectories(Path.of("target", "transit-to-pkcs11-it")
                .toAbsolutePath()), "home", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        OpenBaoDevServer bao = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        TransitKeys.create(bao, "kek-move-itest", "move-root");
        Path secrets = Files.createDirectory(home.resolve("secrets"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        // KEK providers' secrets: under <home>/secrets/kek/, as the allow-list requires
        Path kekSecrets = Files.createDirectory(secrets.resolve("kek"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path token = secretFile(kekSecrets.resolve("bao-token"), Files.readString(bao.tokenFile).strip());
        String pin = "move-" + ProcessHandle.current().pid();
        long slot = SoftHsm.initToken("openkcm-move-itest", pin);
        return options(
                routingConfiguration(home),
                buildBundle("log"),
                buildBundle("kek-transit"),
                buildBundle("kek-pkcs11"),
                // the KEK providers read the allow-list from system properties only, and so not openkcm.home above
                systemProperty("openkcm.secrets.dir").value(secrets.toString()),
                systemProperty("itest.move.bao.address").value(bao.address),
                systemProperty("itest.move.bao.token.file").value(token.toString()),
                systemProperty("itest.move.pkcs11.module").value(SoftHsm.MODULE.toString()),
                systemProperty("itest.move.pkcs11.slot").value(String.valueOf(slot)),
                systemProperty("itest.move.pkcs11.pin").value(SoftHsm.pinFile(kekSecrets, pin)));
    }

    @Test
    public void transitToPkcs11WithAnInterruptedRewrapThatFurtherRunsFinishAfterWhichTransitLeaves() throws Exception {
        memoryBackend("memory-raw", 0);
        Keystore raw = awaitKeystore("memory-raw");
        FaultyKeystore memory = new FaultyKeystore(raw);
        register("memory", 0, memory);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        Path kekFolder = Path.of(bundleContext.getProperty("openkcm.home")).resolve("data/kek");

        // Transit seals: its ring is sealed by the Transit key (the rings beside the key file: the providers take
        // openkcm.home from the system properties, as the runtime sets it, and this framework has it as a property)
        Map<String, Object> transit = new HashMap<>();
        transit.put("ring.file", kekFolder.resolve("transit.ring").toString());
        transit.put("address", System.getProperty("itest.move.bao.address"));
        transit.put("mount", "kek-move-itest");
        transit.put("key.name", "move-root");
        transit.put("token.source", "file:" + System.getProperty("itest.move.bao.token.file"));
        org.osgi.service.cm.Configuration transitConfiguration = configure(TRANSIT_PID, transit);
        awaitKekIds("local", "transit");
        configure(OPERATIONS_PID, Map.of("seal.kek.id", "transit"));
        awaitOperations("transit", null);
        Map<KeyId, byte[]> materials = new LinkedHashMap<>();
        for (int i = 0; i < KEYS; i++) {
            KeyId id = awaitGenerate(ops, "key-" + i);
            materials.put(id, material(ops, id));
            assertEquals(id.toString(), "transit", recordKekId(raw, id));
        }
        assertTrue(Files.readString(kekFolder.resolve("transit.ring")).contains("\nopenkcm-sealed-kek-ring 2 transit\n"));
        assertTrue(Files.readString(kekFolder.resolve("known-keks")).lines().anyMatch(l -> l.matches("transit 1 \\S+ used")));

        // the PKCS#11 provider beside it, then named as the sealing KEK: new records are sealed in the token's ring
        Map<String, Object> pkcs11 = new HashMap<>();
        pkcs11.put("library", System.getProperty("itest.move.pkcs11.module"));
        pkcs11.put("slot", Long.valueOf(System.getProperty("itest.move.pkcs11.slot")));
        pkcs11.put("pin.source", System.getProperty("itest.move.pkcs11.pin"));
        pkcs11.put("create.key", Boolean.TRUE);
        pkcs11.put("ring.file", kekFolder.resolve("pkcs11.ring").toString());
        configure(PKCS11_PID, pkcs11);
        awaitKekIds("local", "transit", "pkcs11");
        configure(OPERATIONS_PID, Map.of("seal.kek.id", "pkcs11"));
        awaitOperations("pkcs11", null);
        KeyId afterSwitch = awaitGenerate(ops, "after-switch");
        materials.put(afterSwitch, material(ops, afterSwitch));
        assertEquals("pkcs11", recordKekId(raw, afterSwitch));
        assertTrue(Files.readString(kekFolder.resolve("pkcs11.ring")).contains("\nopenkcm-sealed-kek-ring 2 pkcs11\n"));
        assertTrue("the Transit records still open", opens(ops, KeyId.of("key-0", 1)));

        // with Transit off the allow-list its provider goes too
        finishMoveByInterruptedRewraps(new KekMove("transit", "pkcs11", raw, memory, ops, admin, kekFolder, materials),
                () -> {
                    transitConfiguration.delete();
                    awaitKekIds("local", "pkcs11");
                });
    }
}
