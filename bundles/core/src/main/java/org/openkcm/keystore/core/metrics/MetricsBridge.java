package org.openkcm.keystore.core.metrics;

import org.openkcm.keystore.core.journal.JournalComponent;
import org.openkcm.keystore.metrics.KeystoreMetrics;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Connects the core to the metrics bundle: present only while a {@link KeystoreMetrics} service
 * is, it registers the core-private {@link Meter} that the operations and the router report to
 * (through optional, dynamic references), and tells the metrics where to read the open journal
 * intents. The core imports the metrics package optionally; without it this component never
 * activates and nothing is measured.
 */
@Component(service = Meter.class)
public final class MetricsBridge implements Meter {

    @Reference
    private KeystoreMetrics metrics;

    @Reference
    private JournalComponent journal;

    @Activate
    void activate() {
        metrics.openIntents(() -> journal.journal().unfinished().size());
    }

    @Deactivate
    void deactivate() {
        metrics.openIntents(null);
    }

    @Override
    public void operation(String operation, String outcome, long nanos) {
        metrics.operation(operation, outcome, nanos);
    }

    @Override
    public void backendCall(String backend, String call, String outcome, long nanos) {
        metrics.backendCall(backend, call, outcome, nanos);
    }
}
