/**
 * The audit contract: every call that reads material, changes or deletes a key, or runs an admin
 * operation, whatever its channel (shell, gRPC), is recorded as one {@link
 * org.openkcm.keystore.audit.AuditRecord} through the {@link org.openkcm.keystore.audit.AuditLog}
 * service before the call answers. A record carries who, what and how it ended, never material,
 * tokens or private keys.
 */
@Version("1.1.0")
@Export
package org.openkcm.keystore.audit;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
