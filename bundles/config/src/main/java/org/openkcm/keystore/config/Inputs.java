package org.openkcm.keystore.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Everything the desired configurations are computed from, read in one go: config.yaml's text
 * (null when there is no such file) and the override variables (those that start with the
 * lead, {@code OPENKCM__}), from the process environment and, over it, from the optional
 * environment file. Two equal inputs give equal configurations, so an unchanged input is not
 * parsed again.
 */
record Inputs(String yaml, Map<String, String> environment) {

    /**
     * @param yamlFile    config.yaml
     * @param environment the process environment (a seam: tests pass their own)
     * @param envFile     a properties file whose entries count as environment variables, or null
     * @param lead        the start of an override variable's name
     * @throws ConfigException naming the file that cannot be read
     */
    static Inputs read(Path yamlFile, Map<String, String> environment, Path envFile, String lead) throws ConfigException {
        Map<String, String> overrides = new TreeMap<>();
        environment.forEach((k, v) -> {
            if (k.startsWith(lead)) {
                overrides.put(k, v);
            }
        });
        if (envFile != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(envFile, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (NoSuchFileException e) {
                // no file, no variables
            } catch (IOException e) {
                throw unreadable(envFile, e);
            }
            for (String k : p.stringPropertyNames()) {
                if (k.startsWith(lead)) {
                    overrides.put(k, p.getProperty(k));
                }
            }
        }
        String text;
        try {
            text = Files.readString(yamlFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            text = null;
        } catch (IOException e) {
            throw unreadable(yamlFile, e);
        }
        return new Inputs(text, Map.copyOf(overrides));
    }

    private static ConfigException unreadable(Path file, IOException e) {
        String why = e instanceof CharacterCodingException ? "not UTF-8 text" : "cannot be read (" + e.getClass().getSimpleName() + ")";
        return new ConfigException(file.toString(), "", 0, why);
    }

    /**
     * The configurations these inputs declare: config.yaml's, with the environment's overrides.
     *
     * @param source  how errors name config.yaml
     * @param mapping how variables map to configurations
     * @throws ConfigException for the first rule broken, in config.yaml or in a variable
     */
    Map<ConfigKey, Desired> desired(String source, EnvOverrides.Mapping mapping) throws ConfigException {
        Map<ConfigKey, Map<String, Object>> fromYaml = yaml == null ? Map.of() : YamlReader.parse(yaml, source);
        Map<ConfigKey, Map<String, Object>> fromEnv = EnvOverrides.map(environment, mapping, fromYaml);
        return Desired.merge(fromYaml, fromEnv);
    }
}
