package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * The built runtime with the OpenBao backend it ships, against a real {@code bao server -dev}: an
 * OpenBao instance configured by a {@code .cfg} whose token is an {@code env:} reference, a route
 * file dropped into {@code config/} while the runtime runs (new L3 keys go to OpenBao at once, no
 * restart), and a restart that keeps what OpenBao holds (the in-memory backend's keys are gone, by
 * nature). Nothing the runtime prints, and no file it writes, contains the token; material is
 * printed only by {@code keystore:reveal}.
 */
@Timeout(180)
class RuntimeOpenBaoIT {
    private static final Duration COMMAND = Duration.ofSeconds(30);
    private static final String TOKEN_VARIABLE = "OPENKCM_SECRET_TEST_BAO_TOKEN";

    private static OpenBaoDevServer bao;
    private static String token;

    @BeforeAll
    static void startOpenBao() throws Exception {
        bao = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        token = Files.readString(bao.tokenFile).strip();
    }

    @Test
    void aRouteFileMovesNewKeysToOpenBaoLiveAndARestartKeepsThem() throws Exception {
        Distribution distribution = Distribution.copy("openbao-route-restart").environment(TOKEN_VARIABLE, token);
        Files.writeString(distribution.path("config/org.openkcm.keystore.openbao-main.cfg"), String.join("\n",
                "address = " + bao.address,
                "token.source = env:" + TOKEN_VARIABLE,
                "path.prefix = runtime-" + System.nanoTime(),
                "keystore.name = openbao",
                "keystore.tiers = L2,L3",
                ""));
        List<String> printed = new ArrayList<>();
        String material;

        try (Distribution.Running runtime = distribution.start()) {
            Distribution.eventually(COMMAND, () -> assertTrue(
                    runtime.shell("keystore:backends", COMMAND).matches("(?s).*openbao\\s+ACTIVE.*"), runtime::toString));
            runtime.shell("keystore:generate --type L3 --owner tenant/acme before", COMMAND);

            Files.writeString(distribution.path("config/org.openkcm.keystore.route-persistent.cfg"),
                    "tiers = L2,L3\ntarget = openbao\n");
            Distribution.eventually(COMMAND, () -> assertTrue(
                    runtime.shell("keystore:routes", COMMAND).contains("persistent"), runtime::toString));
            runtime.shell("keystore:generate --type L3 --owner tenant/acme after", COMMAND);
            String listed = runtime.shell("keystore:list", COMMAND);
            assertTrue(listed.contains("before:1") && listed.contains("after:1"), listed);
            material = lastLine(runtime.shell("keystore:reveal after:1", COMMAND));
            assertTrue(material.matches("[0-9a-f]{64}"), material);

            assertEquals(143, runtime.terminate(COMMAND), runtime::toString);
            printed.add(runtime.out().replace(material, "<revealed>"));
            printed.add(runtime.err());
        }

        Distribution.Result revealed = distribution.run("-c", "keystore:reveal after:1");
        assertEquals(0, revealed.exit(), revealed::toString);
        assertEquals(material, lastLine(revealed.out()), "the key stored in OpenBao is the same after a restart");
        Distribution.Result gone = distribution.run("-c", "keystore:show before:1");
        assertEquals(0, gone.exit(), "the key stored before the route went to the default file backend, which a "
                + "restart keeps\n" + gone);
        Distribution.Result backends = distribution.run("-c", "keystore:backends");
        assertEquals(0, backends.exit(), backends::toString);
        printed.add(revealed.err());
        printed.add(gone.toString());
        printed.add(backends.toString());

        for (String output : printed) {
            assertFalse(output.contains(token), "the token was printed:\n" + output);
            assertFalse(output.contains(material), "material was printed without reveal:\n" + output);
        }
        try (Stream<Path> files = Files.walk(distribution.home())) {
            for (Path file : files.filter(Files::isRegularFile).filter(f -> !f.toString().endsWith(".jar")).toList()) {
                assertFalse(Files.readString(file, java.nio.charset.StandardCharsets.ISO_8859_1).contains(token),
                        "the token is in " + file);
            }
        }
    }

    private static String lastLine(String output) {
        // without the console's "keystore> " prompts, which the interactive shell prints between commands
        return output.replaceAll("(?m)^keystore> ?", "").strip().lines().reduce((a, b) -> b).orElse("").strip();
    }
}
