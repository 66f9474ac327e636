package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * With the core in front, what OpenBao holds is sealed: keys generated and imported through
 * {@link KeystoreOperations} and routed to a real {@code bao server -dev}, then read back with the
 * {@code bao} CLI at their storage paths. Neither the material of any key (raw, hex or base64,
 * also inside the decoded record) nor the token appears in what the CLI shows.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class OpenBaoSealedAtRestIT extends RoutingTestSupport {

    @Configuration
    public Option[] configuration() {
        return options(routingWithOpenBaoConfiguration());
    }

    @Test
    public void theBaoCliShowsSealedRecordsOnly() throws Exception {
        memoryBackend("memory", 0);
        String prefix = openBaoBackend("openbao", "L2", "L3");
        KeystoreOperations keystore = operations();
        route("persistent-to-openbao", Map.of("tiers", new String[] {"L2", "L3"}, "target", "openbao"));
        awaitRoute(administration(), "persistent-to-openbao", "openbao");

        List<KeyMetadata> keys = new ArrayList<>();
        keys.add(keystore.generate(KeySpec.builder().name("tenant-root").type(KeyType.L2).algorithm("AES")
                .keySize(256).owner(Owner.tenant("acme")).build()));
        keys.add(keystore.generate(KeySpec.builder().name("service-mac").type(KeyType.L3).algorithm("HMAC-SHA256")
                .keySize(512).owner(Owner.service("payments")).build()));
        byte[] known = new byte[32];
        Arrays.fill(known, (byte) 0x42);
        try (KeyMaterial material = KeyMaterial.copyOf(known)) {
            keys.add(keystore.importKey(KeySpec.builder().name("imported").type(KeyType.L3).algorithm("AES")
                    .keySize(256).owner(Owner.tenant("acme")).build(), material));
        }
        String token = Files.readString(Path.of(System.getProperty(OPENBAO_TOKEN_FILE))).strip();

        for (KeyMetadata key : keys) {
            byte[] material;
            try (KeyMaterial opened = keystore.get(key.id())) {
                material = opened.copyBytes();
            }
            String path = "secret/" + prefix + "/" + key.type() + "/" + key.owner().kind().label() + "/"
                    + key.owner().id() + "/" + key.id().name() + "/" + key.id().version();
            String shown = cli("kv", "get", "-format=json", path);

            assertTrue("the record is at " + path + ":\n" + shown, shown.contains("\"sealed\""));
            assertFalse(key.id() + ": material in hex", shown.toLowerCase().contains(HexFormat.of().formatHex(material)));
            assertFalse(key.id() + ": material in base64", shown.contains(Base64.getEncoder().encodeToString(material)));
            assertFalse(key.id() + ": the token", shown.contains(token));
            byte[] sealed = Base64.getDecoder().decode(field(shown, "sealed"));
            assertFalse(key.id() + ": material inside the stored record", containsBytes(sealed, material));
            assertFalse(key.id() + ": material as text", new String(sealed, StandardCharsets.ISO_8859_1)
                    .contains(new String(material, StandardCharsets.ISO_8859_1)));
        }
        assertEquals(3, keys.size());
    }

    /** Runs the bao CLI against the dev server and returns what it printed. */
    private static String cli(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(System.getProperty(OPENBAO_BINARY));
        command.addAll(Arrays.asList(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("BAO_") || k.startsWith("VAULT_"));
        builder.environment().put("BAO_ADDR", System.getProperty(OPENBAO_ADDRESS));
        builder.environment().put("BAO_TOKEN", Files.readString(Path.of(System.getProperty(OPENBAO_TOKEN_FILE))).strip());
        Process process = builder.start();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("bao " + String.join(" ", args) + " did not finish within 30 s");
        }
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals("bao " + String.join(" ", args) + ":\n" + out, 0, process.exitValue());
        return out;
    }

    /** The string value of a JSON field in the CLI's output (a flat "name": "value" pair). */
    private static String field(String json, String name) {
        int key = json.indexOf("\"" + name + "\"");
        assertTrue("no field " + name + " in\n" + json, key >= 0);
        int open = json.indexOf('"', json.indexOf(':', key) + 1);
        return json.substring(open + 1, json.indexOf('"', open + 1));
    }
}
