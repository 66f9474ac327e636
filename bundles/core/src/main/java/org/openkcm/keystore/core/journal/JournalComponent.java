package org.openkcm.keystore.core.journal;

import org.openkcm.keystore.core.log.Logs;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The intent journal in the framework, configured by PID {@value IntentJournal#PID} (see
 * {@link JournalConfig}); opened, and replayed, at activation. A service of the core bundle alone.
 */
@Component(name = IntentJournal.PID, service = JournalComponent.class)
@Designate(ocd = JournalConfig.class)
public final class JournalComponent {
    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private Logger logger;

    private IntentJournal journal;

    @Activate
    void activate(BundleContext context, JournalConfig config) {
        JournalSettings settings = JournalSettings.of(config, context.getProperty(JournalSettings.HOME_PROPERTY),
                context::getDataFile);
        journal = IntentJournal.open(settings, logger);
        ReplayReport replay = journal.replay();
        Logs.info(logger, "Intent journal {}: {} unfinished operation(s), damage {}", settings.file(),
                replay.unfinished().size(), replay.damage());
    }

    @Deactivate
    void deactivate() {
        journal.close();
    }

    public IntentJournal journal() {
        return journal;
    }
}
