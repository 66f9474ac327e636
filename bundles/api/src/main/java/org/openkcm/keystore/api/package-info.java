/**
 * The OpenKCM Keystore contract: the only package every bundle of the project shares.
 * <p>
 * {@link org.openkcm.keystore.api.Keystore} is the plugin contract every storage backend
 * implements; {@link org.openkcm.keystore.api.KeystoreOperations} is the facade callers use.
 * Every value type here validates itself on construction through
 * {@link org.openkcm.keystore.api.Validation}, so an invalid identifier never reaches a backend.
 */
@Version("1.2.0")
@Export
package org.openkcm.keystore.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
