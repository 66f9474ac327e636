package org.openkcm.keystore.core.operations;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.core.cache.CacheComponent;
import org.openkcm.keystore.core.journal.JournalComponent;
import org.openkcm.keystore.core.kek.KnownKeksComponent;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.metrics.Meter;
import org.openkcm.keystore.core.reconcile.Reconciler;
import org.openkcm.keystore.core.routing.BackendTracker;
import org.openkcm.keystore.core.saga.RecoveryScheduler;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.saga.StepWatcher;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@link KeystoreOperations} service in the framework: connects the framework-free
 * {@link DefaultKeystoreOperations} to the core's other components (the routing table of the
 * {@link BackendTracker}, the key caches, the intent journal, the record of known KEKs) and to the
 * KEK providers, the metrics and the log DS tracks; applies configuration PID {@value #PID}; starts
 * recovery at activation. Every call is the operations' own.
 */
@Component(name = OperationsComponent.PID, service = KeystoreOperations.class)
@Designate(ocd = OperationsComponent.Config.class)
public final class OperationsComponent implements KeystoreOperations {
    public static final String PID = "org.openkcm.keystore.operations";

    @ObjectClassDefinition(name = "OpenKCM Keystore operations",
            description = "The KeystoreOperations service: envelope encryption, lifecycle rules, metadata authentication.")
    public @interface Config {
        @AttributeDefinition(name = "Sealing KEK id",
                description = "The id of the KEK provider that seals new records and lifecycle MACs. Required when "
                        + "more than one KEK provider is present (nothing is sealed until it is set). Empty, with one "
                        + "provider present: that provider, if the known-KEK record is empty or knows its id.")
        String seal_kek_id() default "";

        @AttributeDefinition(name = "KEK ids that may open",
                description = "The allow-list of KEK ids whose records are opened (the sealing KEK is always on it). "
                        + "Empty: the sealing KEK and every KEK id in the known-KEK record. A provider not on it "
                        + "neither seals nor opens.")
        String[] open_kek_ids() default {};

        @AttributeDefinition(name = "Rollback watermark size",
                description = "How many keys' highest seen revision to remember, to refuse metadata rolled back "
                        + "to an earlier revision while this runtime runs. 0 disables the check.")
        int rollback_watermark_size() default DefaultKeystoreOperations.DEFAULT_WATERMARK_SIZE;

        @AttributeDefinition(name = "Reconciliation grace period (s)",
                description = "A key a backend holds that is younger than this (by its created time) and not in the "
                        + "location index is reported as recent by reconciliation and not judged: a store may be under "
                        + "way.")
        long reconcile_grace_seconds() default 300;
    }

    @Reference
    private BackendTracker tracker;

    /** The key caches: in a framework every read goes through them (Caffeine is a required import). */
    @Reference
    private CacheComponent cacheComponent;

    @Reference
    private JournalComponent journalComponent;

    @Reference
    private KnownKeksComponent knownKeksComponent;

    /** Every operation is timed and counted while the metrics bundle is there (see MetricsBridge). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile Meter meter;

    @Reference(service = KekProvider.class, cardinality = ReferenceCardinality.AT_LEAST_ONE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile List<Map.Entry<Map<String, Object>, KekProvider>> kekProviders;

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    private final DefaultKeystoreOperations operations;
    private RecoveryScheduler recovery;

    public OperationsComponent() {
        this(new DefaultKeystoreOperations());
    }

    /** Over operations connected already, without activation (tests of the components built on this one). */
    public OperationsComponent(DefaultKeystoreOperations operations) {
        this.operations = operations;
    }

    @Activate
    void activate(Config config) {
        operations.routedBy(tracker.router()).cacheFrom(cacheComponent::cache)
                .knownKeksFrom(knownKeksComponent::known).kekProvidersFrom(() -> kekProviders)
                .meterFrom(() -> meter).loggerFrom(() -> logger);
        configure(config);
        SagaRunner runner = new SagaRunner(journalComponent.journal(), logger).watcher(StepWatcher.installed());
        operations.runner(runner);
        // recovery starts now, on its own thread: backends may not be tracked yet, and an operation
        // it cannot finish yet is tried again until it can
        recovery = new RecoveryScheduler(runner, operations.definitions(), logger, null);
        recovery.startAsync();
        try {
            operations.envelope(); // choose and pin the KEKs now, so that a refusal is said at start
        } catch (RuntimeException e) {
            Logs.error(logger, "KEK refused: the KEK providers cannot be checked: {}", e.getMessage());
        }
    }

    @Modified
    void configure(Config config) {
        List<String> open = new ArrayList<>();
        for (String id : config.open_kek_ids() == null ? new String[0] : config.open_kek_ids()) {
            for (String part : id.split(",")) {
                if (!part.isBlank()) {
                    open.add(part.trim());
                }
            }
        }
        operations.sealWith(config.seal_kek_id()).openWith(open).watermarkSize(config.rollback_watermark_size());
        if (config.reconcile_grace_seconds() < 0) {
            Logs.error(logger, "Configuration {}: reconcile.grace.seconds must not be negative; {} s is used", PID,
                    Reconciler.DEFAULT_GRACE.toSeconds());
            operations.reconcileGrace(Reconciler.DEFAULT_GRACE);
        } else {
            operations.reconcileGrace(Duration.ofSeconds(config.reconcile_grace_seconds()));
        }
    }

    @Deactivate
    void deactivate() {
        if (recovery != null) {
            recovery.close();
        }
    }

    /** The operations this component serves (the administration shares their parts). */
    public DefaultKeystoreOperations operations() {
        return operations;
    }

    @Override
    public KeyMetadata generate(KeySpec spec) {
        return operations.generate(spec);
    }

    @Override
    public KeyMetadata importKey(KeySpec spec, KeyMaterial material) {
        return operations.importKey(spec, material);
    }

    @Override
    public KeyMaterial get(KeyId id) {
        return operations.get(id);
    }

    @Override
    public KeyMetadata metadata(KeyId id) {
        return operations.metadata(id);
    }

    @Override
    public KeyMetadata rotate(String name) {
        return operations.rotate(name);
    }

    @Override
    public KeyMetadata changeStatus(KeyId id, KeyStatus status, long expectedRevision) {
        return operations.changeStatus(id, status, expectedRevision);
    }

    @Override
    public KeyMetadata changeExpiry(KeyId id, Instant expiry, long expectedRevision) {
        return operations.changeExpiry(id, expiry, expectedRevision);
    }

    @Override
    public KeyMetadata changeTags(KeyId id, Map<String, String> tags, long expectedRevision) {
        return operations.changeTags(id, tags, expectedRevision);
    }

    @Override
    public boolean delete(KeyId id) {
        return operations.delete(id);
    }

    @Override
    public int deleteAllVersions(String name) {
        return operations.deleteAllVersions(name);
    }

    @Override
    public KeyPage list(KeyFilter filter) {
        return operations.list(filter);
    }
}
