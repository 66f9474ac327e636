package org.openkcm.keystore.plugins;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One out-of-process plugin backend. Besides these attributes, every property named
 * {@code settings.<name>} is passed to the plugin as its setting {@code <name>} (Configure).
 */
@ObjectClassDefinition(name = "OpenKCM Keystore: plugin backend",
        description = "A storage backend that runs as its own process (any language, hashicorp go-plugin protocol"
                + " over gRPC with mutual TLS). Properties settings.<name> are the plugin's own settings.")
public @interface PluginConfig {

    @AttributeDefinition(name = "Executable", description = "Absolute path of the plugin executable.")
    String plugin_path();

    @AttributeDefinition(name = "SHA-256 of the executable",
            description = "Hex SHA-256 of the executable; a file with any other checksum is refused, at every start.")
    String plugin_sha256();

    @AttributeDefinition(name = "Arguments", required = false, description = "Command-line arguments of the plugin.")
    String[] plugin_args() default {};

    @AttributeDefinition(name = "Environment variables passed", required = false,
            description = "Names of the runtime's environment variables the plugin receives; it receives no other"
                    + " variable of the runtime's environment.")
    String[] plugin_env() default {};

    @AttributeDefinition(name = "Plugin protocol version", min = "1",
            description = "The keystore plugin protocol version asked for (PLUGIN_PROTOCOL_VERSIONS).")
    int plugin_protocol_version() default 1;

    @AttributeDefinition(name = "Handshake timeout (ms)", min = "100",
            description = "How long the plugin may take from start to its handshake line.")
    long plugin_handshake_timeout_ms() default 10_000;

    @AttributeDefinition(name = "Call timeout (ms)", min = "10",
            description = "Deadline of each call to the plugin; a call past it fails as unavailable.")
    long plugin_call_timeout_ms() default 5_000;

    @AttributeDefinition(name = "Restart backoff: first (ms)", min = "10",
            description = "Wait before the first restart of a plugin that exited; doubles per failed restart.")
    long plugin_restart_backoff_ms() default 200;

    @AttributeDefinition(name = "Restart backoff: most (ms)", min = "10")
    long plugin_restart_backoff_max_ms() default 10_000;

    @AttributeDefinition(name = "Shutdown bound (ms)", min = "10",
            description = "On stop the plugin is asked to shut down, then killed if it has not exited within this bound.")
    long plugin_shutdown_timeout_ms() default 2_000;

    @AttributeDefinition(name = "Keystore name",
            description = "Service property keystore.name: stable across upgrades; routes name it.")
    String keystore_name();

    @AttributeDefinition(name = "Tiers", description = "Service property keystore.tiers; a store of another tier is refused.",
            options = {
                    @Option(label = "L2 (tenant keys)", value = "L2"),
                    @Option(label = "L3 (service keys)", value = "L3"),
                    @Option(label = "L4 (data keys)", value = "L4")})
    String[] keystore_tiers() default {"L4"};

    @AttributeDefinition(name = "Regions", required = false, description = "Service property keystore.regions.")
    String[] keystore_regions() default {};

    @AttributeDefinition(name = "Persistent",
            description = "Service property keystore.persistent: whether the plugin keeps keys across its restarts.")
    boolean keystore_persistent() default true;

    @AttributeDefinition(name = "Service ranking")
    int service_ranking() default 0;
}
