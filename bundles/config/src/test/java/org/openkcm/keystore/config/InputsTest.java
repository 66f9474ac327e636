package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputsTest {

    @TempDir
    Path dir;

    @Test
    void readsTheFileAndTheOverridesOnly() throws Exception {
        Path yaml = Files.writeString(dir.resolve("config.yaml"), "p: {a: 1}\n");
        Path envFile = Files.writeString(dir.resolve("env.properties"),
                "OPENKCM__ROUTE__L4__TARGET=openbao\nOTHER=x\n");
        Inputs in = Inputs.read(yaml, Map.of("OPENKCM__ROUTE__L4__TARGET", "memory", "OPENKCM__ROUTE__L4__REGION", "eu",
                "HOME", "/root", "OPENKCM_HOME", "/opt"), envFile, "OPENKCM__");
        assertEquals("p: {a: 1}\n", in.yaml());
        assertEquals(Map.of("OPENKCM__ROUTE__L4__TARGET", "openbao", "OPENKCM__ROUTE__L4__REGION", "eu"), in.environment(),
                "the file's entries over the process environment; other variables are not kept");

        assertEquals(in, Inputs.read(yaml, Map.of("OPENKCM__ROUTE__L4__TARGET", "memory", "OPENKCM__ROUTE__L4__REGION", "eu"),
                envFile, "OPENKCM__"), "equal inputs: nothing to parse again");
    }

    @Test
    void aMissingFileDeclaresNothing() throws ConfigException {
        Inputs in = Inputs.read(dir.resolve("none.yaml"), Map.of(), dir.resolve("none.env"), "OPENKCM__");
        assertNull(in.yaml());
        assertEquals(Map.of(), in.environment());
    }

    @Test
    void anUnreadableFileIsRefusedByName() throws IOException {
        Path notText = Files.write(dir.resolve("config.yaml"), new byte[] {(byte) 0xC3, (byte) 0x28});
        ConfigException e = assertThrows(ConfigException.class, () -> Inputs.read(notText, Map.of(), null, "OPENKCM__"));
        assertEquals(notText + ": not UTF-8 text", e.getMessage());
        ConfigException dirError = assertThrows(ConfigException.class, () -> Inputs.read(dir, Map.of(), null, "OPENKCM__"));
        assertEquals(dir.toString(), dirError.source());
    }

    @Test
    void anOversizedFileIsRefusedBeforeItIsParsed() throws IOException {
        Path big = Files.write(dir.resolve("config.yaml"), new byte[Inputs.MAX_FILE_BYTES + 1]);
        ConfigException e = assertThrows(ConfigException.class, () -> Inputs.read(big, Map.of(), null, "OPENKCM__"));
        assertEquals(big + ": larger than " + Inputs.MAX_FILE_BYTES + " bytes", e.getMessage());
        Path yaml = Files.writeString(dir.resolve("ok.yaml"), "p: {a: 1}\n");
        ConfigException envError = assertThrows(ConfigException.class, () -> Inputs.read(yaml, Map.of(), big, "OPENKCM__"));
        assertEquals(big + ": larger than " + Inputs.MAX_FILE_BYTES + " bytes", envError.getMessage(),
                "the environment file has the same cap");
        assertEquals(Inputs.MAX_FILE_BYTES + 1, Files.size(big), "the file is left as it was");
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("config.yaml");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, mkfifo.waitFor(), "mkfifo");
        // Opening a FIFO with no writer would block forever; the check comes before any open.
        ConfigException e = assertThrows(ConfigException.class, () -> Inputs.read(fifo, Map.of(), null, "OPENKCM__"));
        assertEquals(fifo + ": not a regular file (a FIFO, socket or device)", e.getMessage());
        ConfigException envError = assertThrows(ConfigException.class,
                () -> Inputs.read(dir.resolve("none.yaml"), Map.of(), fifo, "OPENKCM__"));
        assertEquals(fifo + ": not a regular file (a FIFO, socket or device)", envError.getMessage());
    }

    @Test
    void aLinkToARegularFileIsRead() throws Exception {
        Path target = Files.writeString(dir.resolve("real.yaml"), "p: {a: 1}\n");
        Path link = Files.createSymbolicLink(dir.resolve("config.yaml"), target);
        assertEquals("p: {a: 1}\n", Inputs.read(link, Map.of(), null, "OPENKCM__").yaml(),
                "a mounted ConfigMap is a link to a regular file");
    }

    @Test
    void findsConfigYaml() {
        Map<String, String> props = Map.of("openkcm.config.yaml", "/etc/kms.yaml", "openkcm.home", "/opt/openkcm");
        assertEquals(Paths.get("/x.yaml"), ConfigYaml.yamlFile("/x.yaml", props::get));
        assertEquals(Paths.get("/etc/kms.yaml"), ConfigYaml.yamlFile("", props::get));
        assertEquals(Paths.get("/opt/openkcm/config/config.yaml"), ConfigYaml.yamlFile("", Map.of("openkcm.home", "/opt/openkcm")::get));
        assertEquals(Paths.get("config/config.yaml"), ConfigYaml.yamlFile(" ", Map.<String, String>of()::get));
    }

    @Test
    void escapesFilterValues() {
        assertEquals("a\\(b\\)\\*\\\\", ConfigYaml.escape("a(b)*\\"));
    }
}
