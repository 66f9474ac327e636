package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

/**
 * The routing policy as users write it: {@code .cfg} files in a FileInstall folder (typed values,
 * and a plain comma-separated string) and {@code config.yaml} (the config bundle), edited while the
 * keystore runs; new keys follow each edit at once, stored keys stay readable where they are.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class RouteFilesIT extends RoutingTestSupport {
    private static final String CFG_DIR = "itest.route.cfg.dir";

    @Configuration
    public Option[] configuration() throws IOException {
        Path base = Files.createTempDirectory("openkcm-route-files");
        Path cfg = Files.createDirectories(base.resolve("cfg"));
        return options(routingConfiguration(),
                frameworkProperty("felix.cm.config.plugins").value("org.apache.felix.configadmin.plugin.interpolation"),
                frameworkProperty("felix.fileinstall.dir").value(cfg.toString()),
                frameworkProperty("felix.fileinstall.poll").value("100"),
                frameworkProperty("felix.fileinstall.noInitialDelay").value("true"),
                frameworkProperty("openkcm.config.yaml").value(base.resolve("config.yaml").toString()),
                frameworkProperty(CFG_DIR).value(cfg.toString()),
                buildBundle("converter"),
                buildBundle("interpolation"),
                buildBundle("log"),
                buildBundle("fileinstall"),
                buildBundle("config"));
    }

    @Test
    public void cfgFilesAndConfigYamlRouteNewKeysAtOnce() throws Exception {
        Path cfg = Path.of(bundleContext.getProperty(CFG_DIR));
        write(cfg.resolve("org.openkcm.keystore.memory-memory.cfg"), "keystore.name = \"memory\"\n");
        write(cfg.resolve("org.openkcm.keystore.memory-fast.cfg"), "keystore.name = \"fast\"\n");
        write(cfg.resolve("org.openkcm.keystore.memory-vault.cfg"), "keystore.name = \"vault\"\n");
        awaitKeystoreReference("memory");
        awaitKeystoreReference("fast");
        awaitKeystoreReference("vault");
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();

        // typed FileInstall values
        write(cfg.resolve("org.openkcm.keystore.route-l4-to-fast.cfg"),
                "tiers = [ \"L4\" ]\ntarget = \"fast\"\npriority = I\"0\"\n");
        // plain values: one comma-separated string for the tiers, "10" for the priority
        write(cfg.resolve("org.openkcm.keystore.route-l2-l3-to-vault.cfg"),
                "tiers = L2,L3\ntarget = vault\npriority = 10\n");
        awaitRoute(admin, "l4-to-fast", "fast");
        awaitRoute(admin, "l2-l3-to-vault", "vault");
        assertEquals(10, admin.routes().stream().filter(r -> r.name().equals("l2-l3-to-vault")).findFirst().get()
                .priority());
        KeyMetadata l4 = ops.generate(spec("l4-a", KeyType.L4, Owner.tenant("t"), null));
        KeyMetadata l3 = ops.generate(spec("l3-a", KeyType.L3, Owner.tenant("t"), null));
        assertEquals(l4, awaitKeystore("fast").retrieveKey(l4.id()).metadata());
        assertEquals(l3, awaitKeystore("vault").retrieveKey(l3.id()).metadata());

        // edit the file: new L4 keys go to memory at once
        write(cfg.resolve("org.openkcm.keystore.route-l4-to-fast.cfg"),
                "tiers = [ \"L4\" ]\ntarget = \"memory\"\n");
        awaitRoute(admin, "l4-to-fast", "memory");
        KeyMetadata l4b = ops.generate(spec("l4-b", KeyType.L4, Owner.tenant("t"), null));
        assertEquals(l4b, awaitKeystore("memory").retrieveKey(l4b.id()).metadata());

        // config.yaml takes the route over (it wins over the .cfg file of the same name)
        configurationAdmin.getConfiguration("org.openkcm.keystore.config", "?").update(dictionary(Map.of(
                "yaml.path", bundleContext.getProperty("openkcm.config.yaml"), "poll.interval", 100L)));
        write(Path.of(bundleContext.getProperty("openkcm.config.yaml")), """
                org.openkcm.keystore.route:
                  l4-to-fast: {tiers: [L4], target: vault, priority: 5}
                """);
        awaitRoute(admin, "l4-to-fast", "vault");
        KeyMetadata l4c = ops.generate(spec("l4-c", KeyType.L4, Owner.tenant("t"), null));
        assertEquals(l4c, awaitKeystore("vault").retrieveKey(l4c.id()).metadata());

        for (KeyMetadata m : new KeyMetadata[] {l4, l3, l4b, l4c}) {
            try (KeyMaterial material = ops.get(m.id())) {
                assertEquals(32, material.copyBytes().length);
            }
        }
    }

    private static void write(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
