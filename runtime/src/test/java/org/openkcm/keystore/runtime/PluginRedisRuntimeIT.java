package org.openkcm.keystore.runtime;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.plugins.testing.RedisServer;

/**
 * The Redis plugin as the distribution ships it: plugins/bin/keystore-plugin-redis with its
 * .sha256 beside it, started by config/examples/org.openkcm.keystore.plugin-redis-edge.cfg copied
 * into config/ with only the site's values changed (the checksum from the shipped .sha256, the
 * address of a real redis-server on loopback that demands a password, TLS off). A key generated
 * through the runtime lands in Redis under the example's prefix, and a new runtime process (no
 * cache) reads the same material back from it.
 */
class PluginRedisRuntimeIT {
    static final Duration COMMAND = Duration.ofSeconds(60);
    static final String PASSWORD = "edge-" + System.nanoTime();
    static RedisServer redis;
    static Distribution distribution;

    @BeforeAll
    static void setUp() throws Exception {
        redis = RedisServer.startWithPassword(PASSWORD);
        distribution = Distribution.copy("plugin-redis").environment("OPENKCM_SECRET_REDIS_PASSWORD", PASSWORD);
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (redis != null) {
            redis.close();
        }
        if (distribution != null) {
            Distribution.delete(distribution.path(""));
        }
    }

    @Test
    void theShippedRedisPluginWithTheExampleConfigurationStoresAndReadsKeysInRedis() throws Exception {
        Path executable = distribution.path("plugins/bin/keystore-plugin-redis");
        assertTrue(Files.isExecutable(executable), "the distribution ships " + executable);
        String shipped = Files.readString(distribution.path("plugins/bin/keystore-plugin-redis.sha256"), UTF_8);
        assertEquals(sha256(executable) + "  keystore-plugin-redis\n", shipped, "the shipped .sha256 is sha256sum's line");

        String example = Files.readString(distribution.path("config/examples/org.openkcm.keystore.plugin-redis-edge.cfg"), UTF_8);
        String site = replaceLine(example, "plugin.sha256", "\"" + shipped.substring(0, 64) + "\"");
        site = replaceLine(site, "settings.address", "\"" + redis.address() + "\"");
        site = replaceLine(site, "settings.tls", "\"false\"");
        site = site.replaceAll("(?m)^settings\\.tls\\.ca\\.file = .*\\n", "");
        Files.writeString(distribution.path("config/org.openkcm.keystore.plugin-redis-edge.cfg"), site, UTF_8);
        Files.writeString(distribution.path("config/org.openkcm.keystore.route-l4-to-redis.cfg"),
                "tiers = [ \"L4\" ]\ntarget = \"redis-edge\"\npriority = I\"10\"\n", UTF_8);

        String material;
        try (Distribution.Running runtime = distribution.start()) {
            Distribution.eventually(COMMAND, () -> {
                String backends = runtime.shell("keystore:backends", COMMAND);
                assertTrue(Pattern.compile("(?m)^redis-edge\\s+ACTIVE\\s").matcher(backends).find(), backends);
                assertTrue(runtime.shell("keystore:routes", COMMAND).contains("l4-to-redis"), runtime::toString);
            });
            String generated = runtime.shell("keystore:generate --type L4 --owner tenant/acme edge1", COMMAND);
            assertTrue(generated.contains("edge1:1"), generated + runtime);
            material = lastLine(runtime.shell("keystore:reveal edge1:1", COMMAND));
            assertTrue(material.matches("[0-9a-f]{64}"), material + runtime);
            assertEquals(143, runtime.terminate(COMMAND), runtime::toString);
        }
        String keys = redisCommand("KEYS", "openkcm:keystore:*");
        assertTrue(keys.contains("openkcm:keystore:tenant:acme:edge1:1\r\n"),
                "the key's record is in Redis under the example's prefix: " + keys);

        Distribution.Result revealed = distribution.run("-c", "keystore:reveal edge1:1");
        assertEquals(0, revealed.exit(), revealed::toString);
        assertEquals(material, lastLine(revealed.out()), "a new runtime reads the same key from Redis");
    }

    /** One command over RESP, after AUTH; the raw reply. */
    private static String redisCommand(String... words) throws IOException {
        StringBuilder request = new StringBuilder(resp("AUTH", PASSWORD));
        request.append(resp(words));
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), redis.port())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(UTF_8));
            out.flush();
            socket.shutdownOutput();
            InputStream in = socket.getInputStream();
            String reply = new String(in.readAllBytes(), UTF_8);
            assertTrue(reply.startsWith("+OK\r\n"), "AUTH: " + reply);
            return reply.substring(5);
        }
    }

    private static String resp(String... words) {
        StringBuilder b = new StringBuilder("*").append(words.length).append("\r\n");
        for (String w : words) {
            b.append('$').append(w.getBytes(UTF_8).length).append("\r\n").append(w).append("\r\n");
        }
        return b.toString();
    }

    private static String replaceLine(String cfg, String property, String value) {
        Pattern line = Pattern.compile("(?m)^" + Pattern.quote(property) + " = .*$");
        assertTrue(line.matcher(cfg).find(), "the example sets " + property);
        return line.matcher(cfg).replaceFirst(java.util.regex.Matcher.quoteReplacement(property + " = " + value));
    }

    private static String lastLine(String output) {
        return output.replaceAll("(?m)^keystore> ?", "").strip().lines().reduce((a, b) -> b).orElse("").strip();
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            digest.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
