package org.openkcm.keystore.config;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Keeps ConfigAdmin in step with config.yaml and the {@code OPENKCM__} environment variables,
 * beside the .cfg files that FileInstall handles. Precedence: the environment over config.yaml
 * (property by property), both over .cfg files (whole configuration: see {@link Plan}).
 * <p>
 * On one thread of its own it reads the inputs: once at activation, then whenever FileInstall
 * reports config.yaml or the environment file (see {@link FileWatch}: the component asks
 * FileInstall to watch their folders for these files only, and handles them as an
 * {@code ArtifactInstaller}). When they changed it parses and validates all of them (see
 * {@link YamlReader}, {@link EnvOverrides}) and keeps the result only if every rule holds:
 * otherwise it logs the error (file, line, key path, rule) and keeps the configurations in force
 * exactly as they were. It then brings ConfigAdmin to the last accepted state, writing only the
 * configurations that differ, so an unchanged file restarts nothing. As a ConfigurationListener
 * it does the same pass when a configuration it manages (or one with the identity of a desired
 * one) changes behind its back (FileInstall reading a shadowed .cfg file again, a deletion in
 * the shell): the configuration is put back at once. Its own writes cause one more pass, which
 * finds nothing to do. Without FileInstall the files are read at activation only.
 * <p>
 * Values such as {@code $[env:BAO_TOKEN]} or {@code $[secret:bao-token]} are written as they
 * are; ConfigAdmin's interpolation plugin resolves them for consumers. Nothing this component
 * logs or reports contains a property's value.
 * <p>
 * Deactivating it leaves the configurations in force; the next activation reconciles them.
 */
@Component(
        name = Names.OWN_PID,
        configurationPid = Names.OWN_PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {},
        immediate = true)
@Designate(ocd = ConfigYaml.Config.class)
public final class ConfigYaml {

    /** A framework property naming config.yaml, used when {@code yaml.path} is not set. */
    static final String YAML_PROPERTY = "openkcm.config.yaml";
    /** A framework property naming the runtime's home; config.yaml is then {@code <home>/config/config.yaml}. */
    static final String HOME_PROPERTY = "openkcm.home";

    @ObjectClassDefinition(
            name = "OpenKCM Keystore configuration from config.yaml and the environment",
            description = "Reads config.yaml and OPENKCM__ environment variables into ConfigAdmin configurations. "
                    + "Precedence: environment over config.yaml (property by property) over .cfg files (whole configuration).")
    public @interface Config {

        @AttributeDefinition(
                name = "config.yaml",
                description = "The file to read. Empty: the framework property openkcm.config.yaml, else "
                        + "${openkcm.home}/config/config.yaml, else config/config.yaml in the working directory. "
                        + "A missing file declares nothing.",
                required = false)
        String yaml_path() default "";

        @AttributeDefinition(
                name = "Environment prefix",
                description = "Variables named <prefix>_<CONFIG>__[<INSTANCE>__]<PROPERTY> (with the default, "
                        + "OPENKCM__...) override config.yaml; other <prefix>... variables are left alone.")
        String env_prefix() default "OPENKCM_";

        @AttributeDefinition(
                name = "Poll interval (ms)",
                description = "How often FileInstall looks at config.yaml and the environment file (the poll of "
                        + "the FileInstall watcher this component asks for on their folders; at least 100), so "
                        + "that edits take effect live. 0: they are read once, at activation, and no watcher "
                        + "is asked for. Without FileInstall they are read at activation only, whatever this says. "
                        + "Changes made in ConfigAdmin to the configurations from config.yaml are put back at once.",
                min = "0")
        long poll_interval() default 2000;

        @AttributeDefinition(
                name = "Environment aliases",
                description = "ALIAS=pid: the <CONFIG> segments that name a PID, besides the PID itself in upper case "
                        + "with '_' for '.'.")
        String[] env_aliases() default {
            "MEMORY=org.openkcm.keystore.memory",
            "OPENBAO=org.openkcm.keystore.openbao",
            "ROUTE=org.openkcm.keystore.route"};

        @AttributeDefinition(
                name = "Known properties",
                description = "pid=name,name,...: the properties a variable may set on a configuration of that PID "
                        + "without config.yaml giving them first. A variable's <PROPERTY> segment must match "
                        + "exactly one known name in canonical form (ownerIdPrefix is OWNER_ID_PREFIX).")
        String[] env_properties() default {
            "org.openkcm.keystore.memory=keystore.name,keystore.tiers,keystore.regions,service.ranking,maxEntries",
            // Every attribute of the OpenBao backend's metatype, so that an instance can come from variables alone.
            "org.openkcm.keystore.openbao=keystore.name,keystore.tiers,keystore.regions,service.ranking,address,"
                    + "failover.addresses,"
                    + "kv.mount,path.prefix,namespace,namespace.mode,namespace.base,namespace.services,"
                    + "connect.timeout.seconds,read.timeout.seconds,retry.max.attempts,retry.initial.backoff.ms,"
                    + "retry.max.backoff.ms,health.timeout.ms,auth.method,token.source,approle.mount,role.id.source,"
                    + "secret.id.source,tls.verify,tls.ca.file,tls.client.cert.file,tls.client.key.file,"
                    + "allow.insecure.http,allow.unverified.tls",
            "org.openkcm.keystore.route=tiers,ownerKind,ownerId,ownerIdPrefix,region,priority,target"};

        @AttributeDefinition(
                name = "Environment file",
                description = "Optional: a properties file whose NAME=value entries count as environment variables, "
                        + "over the process environment (for platforms that hand variables over as a file, and "
                        + "for tests: the environment of a running JVM cannot change). Watched like config.yaml; "
                        + "the process environment itself is read at activation only (it cannot change).",
                required = false)
        String env_file() default "";
    }

    @Reference
    private ConfigurationAdmin configurationAdmin;

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    /** The process environment; a seam for tests. */
    Supplier<Map<String, String>> environment = System::getenv;

    private volatile ConfigStatus status = new ConfigStatus("", true, null, List.of(), List.of(), List.of(), null);
    private ExecutorService executor;
    /** A pass is queued and has not started: further requests join it. */
    private final AtomicBoolean passQueued = new AtomicBoolean();
    /** The next pass reads the inputs again: FileInstall reported a file (or the component just activated). */
    private final AtomicBoolean readWanted = new AtomicBoolean();
    private ServiceRegistration<ConfigurationListener> configurationListener;
    private FileWatch fileWatch;
    /** The service PIDs whose ConfigAdmin events start a pass: those desired and those this bundle wrote. */
    private volatile Set<String> managedPids = Set.of();

    // Touched by the executor's thread only.
    private Path yamlFile;
    private Path envFile;
    private EnvOverrides.Mapping mapping;
    private Inputs lastInputs;
    private String lastError;
    private Map<ConfigKey, Desired> inForce;
    private Instant lastChange;
    private Set<String> lastWarnings = Set.of();
    private Set<String> lastFailures = Set.of();
    private List<String> lastShadowed = List.of();

    /** @throws IllegalArgumentException naming the attribute of this component's configuration that is wrong */
    @Activate
    void activate(BundleContext context, Config config) {
        mapping = new EnvOverrides.Mapping(config.env_prefix(), EnvOverrides.aliases(List.of(config.env_aliases())),
                EnvOverrides.knownProperties(List.of(config.env_properties())));
        if (config.env_prefix().isEmpty()) {
            throw new IllegalArgumentException("env.prefix: must not be empty");
        }
        yamlFile = yamlFile(config.yaml_path(), context::getProperty);
        envFile = config.env_file().isBlank() ? null : Paths.get(config.env_file().trim());
        status = new ConfigStatus(yamlFile.toString(), true, null, List.of(), List.of(), List.of(), null);
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "openkcm-config-yaml");
            t.setDaemon(true);
            return t;
        });
        requestRead(); // at once: before FileInstall reports anything, and without FileInstall at all
        configurationListener = context.registerService(ConfigurationListener.class, this::configurationEvent, null);
        watch(context, config.poll_interval());
    }

    /** Asks FileInstall to watch the inputs, or, with no interval or no FileInstall, deletes a leftover watcher. */
    private void watch(BundleContext context, long interval) {
        boolean available = FileWatch.available(context);
        Map<String, Map<String, Object>> watchers = available
                ? Watchers.of(yamlFile, envFile, interval, context.getProperty(Watchers.TMPDIR))
                : Map.of();
        try {
            if (watchers.isEmpty()) {
                FileWatch.write(configurationAdmin, Map.of());
                if (!available) {
                    warn("{} is read at activation only: FileInstall is not installed, edits are not watched", yamlFile);
                } else {
                    info("{} is read at activation only: poll.interval is 0", yamlFile);
                }
                return;
            }
            Set<Path> files = envFile == null ? Set.of(yamlFile) : Set.of(yamlFile, envFile);
            fileWatch = FileWatch.start(context, configurationAdmin, watchers, files, this::requestRead);
        } catch (IOException | RuntimeException e) {
            error("cannot ask FileInstall to watch {}, edits are not watched: {}", yamlFile, e.toString());
        }
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        configurationListener.unregister();
        if (fileWatch != null) {
            try {
                fileWatch.close();
            } catch (IOException | RuntimeException e) {
                error("cannot delete the FileInstall watcher of {}: {}", yamlFile, e.toString());
            }
        }
        executor.shutdownNow();
        executor.awaitTermination(10, TimeUnit.SECONDS);
    }

    /** Queues a pass that reads the inputs again before it reconciles. */
    private void requestRead() {
        readWanted.set(true);
        requestPass();
    }

    /** Queues one pass, unless one is queued already and has not started (a burst of events makes one pass). */
    private void requestPass() {
        if (passQueued.compareAndSet(false, true)) {
            try {
                executor.execute(this::pass);
            } catch (RejectedExecutionException e) {
                passQueued.set(false); // deactivated
            }
        }
    }

    /**
     * ConfigAdmin's event thread: no work here, only a pass requested for a configuration this
     * bundle manages. The pass reconciles ConfigAdmin with the inputs last read; it does not read
     * them again (only FileInstall's reports do).
     */
    private void configurationEvent(ConfigurationEvent event) {
        if (managedPids.contains(event.getPid())) {
            requestPass();
        }
    }

    /**
     * The state of the last pass, for the shell: the file, the error that refused the last
     * input (or null), the configurations in force from config.yaml and the environment, the
     * .cfg files they shadow.
     */
    public ConfigStatus status() {
        return status;
    }

    /** Where config.yaml is, by the rule the metatype describes. */
    static Path yamlFile(String configured, java.util.function.Function<String, String> frameworkProperty) {
        if (configured != null && !configured.isBlank()) {
            return Paths.get(configured.trim());
        }
        String named = frameworkProperty.apply(YAML_PROPERTY);
        if (named != null && !named.isBlank()) {
            return Paths.get(named.trim());
        }
        String home = frameworkProperty.apply(HOME_PROPERTY);
        Path base = home != null && !home.isBlank() ? Paths.get(home.trim()) : Paths.get("");
        return base.resolve("config").resolve("config.yaml");
    }

    /** One pass: read if asked, validate if changed, reconcile. Never throws. */
    private void pass() {
        passQueued.set(false);
        try {
            if (readWanted.getAndSet(false)) {
                read();
            }
            if (inForce != null) {
                reconcile(inForce);
            }
        } catch (RuntimeException e) {
            error("configuration pass failed: {}", e.toString());
        }
    }

    private void read() {
        Inputs inputs;
        try {
            inputs = Inputs.read(yamlFile, environment.get(), envFile, mapping.lead());
        } catch (ConfigException e) {
            refuse(e);
            return;
        }
        if (inputs.equals(lastInputs)) {
            return;
        }
        lastInputs = inputs;
        try {
            inForce = inputs.desired(yamlFile.toString(), mapping);
            lastChange = Instant.now();
            if (lastError != null) {
                info("{} accepted again", yamlFile);
            }
            lastError = null;
            info("read {} and {} environment override(s): {} configuration(s)", yamlFile, inputs.environment().size(),
                    inForce.size());
        } catch (ConfigException e) {
            refuse(e);
        }
    }

    private void refuse(ConfigException e) {
        String message = e.getMessage();
        if (!message.equals(lastError)) {
            error("configuration refused, the configuration in force is unchanged: {}", message);
        }
        lastError = message;
        publish(List.copyOf(lastFailures));
    }

    private void reconcile(Map<ConfigKey, Desired> desired) {
        List<Plan.Existing> existing;
        try {
            existing = existing(desired.keySet());
        } catch (IOException | InvalidSyntaxException e) {
            error("cannot list configurations: {}", e.toString());
            return;
        }
        Set<String> pids = new HashSet<>();
        desired.keySet().forEach(k -> pids.add(k.servicePid()));
        existing.forEach(e -> pids.add(e.key().servicePid()));
        managedPids = Set.copyOf(pids);
        Plan plan = Plan.of(desired, existing);
        for (String w : plan.warnings()) {
            if (!lastWarnings.contains(w)) {
                warn("{}", w);
            }
        }
        lastWarnings = Set.copyOf(plan.warnings());
        lastShadowed = plan.shadowed();
        List<String> failures = new ArrayList<>();
        for (Plan.Action action : plan.actions()) {
            try {
                apply(action);
            } catch (IOException | RuntimeException e) {
                String failure = action.key() + ": " + e.getClass().getSimpleName()
                        + (e.getMessage() != null ? ": " + e.getMessage() : "");
                failures.add(failure);
                if (!lastFailures.contains(failure)) {
                    error("cannot write configuration {}", failure);
                }
            }
        }
        lastFailures = Set.copyOf(failures);
        publish(failures);
    }

    private void apply(Plan.Action action) throws IOException {
        ConfigKey key = action.key();
        if (action instanceof Plan.Put put) {
            configuration(key).update(new Hashtable<>(put.properties()));
            info("{} configuration {}", put.create() ? "created" : "updated", key);
        } else if (action instanceof Plan.Delete) {
            Configuration c = find(key);
            if (c != null) {
                c.delete();
                info("deleted configuration {}: no longer in config.yaml or the environment", key);
            }
        } else if (action instanceof Plan.Release release) {
            Configuration c = find(key);
            if (c == null) {
                return;
            }
            Path file = cfgFile(release.file());
            if (file != null && Files.isRegularFile(file)) {
                c.update(new Hashtable<>(release.properties()));
                // FileInstall reads a file again when its modification time changes, and then takes it back.
                FileTime before = Files.getLastModifiedTime(file);
                long now = System.currentTimeMillis();
                Files.setLastModifiedTime(file, FileTime.fromMillis(Math.max(now, before.toMillis() + 1000)));
                info("released configuration {} to {}", key, release.file());
            } else {
                c.delete();
                info("deleted configuration {}: no longer in config.yaml or the environment, and {} is gone", key,
                        release.file());
            }
        }
    }

    private static Path cfgFile(String uri) {
        try {
            return Paths.get(URI.create(uri));
        } catch (RuntimeException e) {
            return null;
        }
    }

    private Configuration configuration(ConfigKey key) throws IOException {
        return key.isFactory()
                ? configurationAdmin.getFactoryConfiguration(key.pid(), key.name(), "?")
                : configurationAdmin.getConfiguration(key.pid(), "?");
    }

    private Configuration find(ConfigKey key) throws IOException {
        try {
            Configuration[] found = configurationAdmin.listConfigurations(
                    "(" + Names.SERVICE_PID + "=" + escape(key.servicePid()) + ")");
            return found == null || found.length == 0 ? null : found[0];
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The configurations this bundle wrote, and those with the identity of a desired one. */
    private List<Plan.Existing> existing(Set<ConfigKey> desired) throws IOException, InvalidSyntaxException {
        StringBuilder filter = new StringBuilder("(|(").append(Names.SOURCE).append("=*)");
        for (ConfigKey k : desired) {
            filter.append('(').append(Names.SERVICE_PID).append('=').append(escape(k.servicePid())).append(')');
        }
        filter.append(')');
        Configuration[] found = configurationAdmin.listConfigurations(filter.toString());
        List<Plan.Existing> result = new ArrayList<>();
        if (found == null) {
            return result;
        }
        for (Configuration c : found) {
            ConfigKey key = key(c);
            Dictionary<String, Object> props = c.getProperties();
            if (key != null && props != null) {
                result.add(new Plan.Existing(key, map(props)));
            }
        }
        return result;
    }

    private static ConfigKey key(Configuration c) {
        String factoryPid = c.getFactoryPid();
        if (factoryPid == null) {
            return ConfigKey.singleton(c.getPid());
        }
        String prefix = factoryPid + "~";
        // An unnamed factory configuration (createFactoryConfiguration) is never this bundle's.
        return c.getPid().startsWith(prefix) ? ConfigKey.factory(factoryPid, c.getPid().substring(prefix.length())) : null;
    }

    static Map<String, Object> map(Dictionary<String, Object> d) {
        Map<String, Object> m = new HashMap<>();
        for (Enumeration<String> keys = d.keys(); keys.hasMoreElements();) {
            String k = keys.nextElement();
            m.put(k, d.get(k));
        }
        return m;
    }

    static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '(' || c == ')' || c == '*') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    private void publish(List<String> failures) {
        Map<ConfigKey, Desired> desired = inForce == null ? Map.of() : inForce;
        List<String> configurations = new ArrayList<>();
        desired.values().forEach(d -> configurations.add(d.key() + " (" + d.source() + ")"));
        status = new ConfigStatus(yamlFile.toString(), lastError == null, lastError, configurations,
                lastShadowed, failures, lastChange);
    }

    private void info(String format, Object... args) {
        Logger l = logger;
        if (l != null) {
            l.info(format, args);
        }
    }

    private void warn(String format, Object... args) {
        Logger l = logger;
        if (l != null) {
            l.warn(format, args);
        }
    }

    private void error(String format, Object... args) {
        Logger l = logger;
        if (l != null) {
            l.error(format, args);
        }
    }

    @Override
    public String toString() {
        return "ConfigYaml[" + Objects.toString(yamlFile) + "]";
    }
}
