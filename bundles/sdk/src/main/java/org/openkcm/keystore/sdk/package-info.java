/**
 * The plugin SDK: {@link org.openkcm.keystore.sdk.KeystoreConformanceSuite}, which every backend's
 * tests extend, {@link org.openkcm.keystore.sdk.SampleKeys} for test data, and
 * {@link org.openkcm.keystore.sdk.FaultyKeystore}, which injects failures and latency into any backend.
 */
@Version("1.0.0")
@Export
package org.openkcm.keystore.sdk;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
