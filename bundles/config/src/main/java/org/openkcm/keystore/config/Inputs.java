package org.openkcm.keystore.config;

import java.io.IOException;
import java.io.StringReader;
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

    /** config.yaml and the environment file are refused above this size (1 MiB, as the YAML parser's code point limit). */
    static final int MAX_FILE_BYTES = 1 << 20;

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
            String envText = InputFile.readUtf8(envFile, MAX_FILE_BYTES);
            if (envText != null) {
                try {
                    p.load(new StringReader(envText));
                } catch (IOException | IllegalArgumentException e) {
                    throw new ConfigException(envFile.toString(), "", 0, "not a valid properties file");
                }
            }
            for (String k : p.stringPropertyNames()) {
                if (k.startsWith(lead)) {
                    overrides.put(k, p.getProperty(k));
                }
            }
        }
        String text = InputFile.readUtf8(yamlFile, MAX_FILE_BYTES);
        return new Inputs(text, Map.copyOf(overrides));
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
