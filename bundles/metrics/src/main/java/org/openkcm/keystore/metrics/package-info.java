/**
 * What the keystore core reports for measurement. The core imports this package optionally and
 * reports to a {@link org.openkcm.keystore.metrics.KeystoreMetrics} service when one is
 * registered; without it the core runs the same and measures nothing.
 */
@Version("1.0.0")
@Export
package org.openkcm.keystore.metrics;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
