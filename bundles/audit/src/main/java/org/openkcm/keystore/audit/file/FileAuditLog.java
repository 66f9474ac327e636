package org.openkcm.keystore.audit.file;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.Locale;

import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.audit.AuditRecord;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The audit log as files: one JSON line per record in {@code audit.log} under the configured
 * folder. The component registers even when the folder cannot be written, so that every audited
 * call fails with the reason (fail closed) instead of the service vanishing; a configuration that
 * is invalid in itself (sizes, fsync word) fails activation, and the service is then absent.
 */
@Component(name = FileAuditLog.PID, configurationPid = FileAuditLog.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, service = AuditLog.class)
@Designate(ocd = AuditFileConfig.class)
public final class FileAuditLog implements AuditLog {

    public static final String PID = "org.openkcm.keystore.audit";
    static final String HOME_PROPERTY = "openkcm.home";

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private Logger logger;

    private AuditFile file;

    public FileAuditLog() {
    }

    /** For tests: a log over the given files. */
    FileAuditLog(AuditFile file) {
        this.file = file;
    }

    /**
     * A log outside a framework (benchmarks, tools): audit.log in the folder, rotated at the
     * default size and count.
     *
     * @param force whether each record is forced to disk before {@link #record} returns
     */
    public static FileAuditLog open(Path folder, boolean force) {
        return new FileAuditLog(
                new AuditFile(folder, AuditFile.DEFAULT_MAX_FILE_BYTES, AuditFile.DEFAULT_MAX_FILES, force));
    }

    /** Closes the open file (forcing what was written); a later record opens it again. */
    public void close() throws IOException {
        file.close();
    }

    @Activate
    void activate(BundleContext context, AuditFileConfig config) {
        Path folder = folder(config.directory(), context.getProperty(HOME_PROPERTY), context.getDataFile("audit"));
        file = new AuditFile(folder, config.max_file_bytes(), config.max_files(), forces(config.fsync()));
        try {
            file.append(new byte[0]); // opens (and creates) audit.log now, so a broken folder is logged at start
        } catch (IOException e) {
            if (logger != null) {
                logger.error("audit log {} cannot be written ({}); every audited call fails until it can",
                        file.current(), reason(e));
            }
        }
    }

    @Deactivate
    void deactivate() throws IOException {
        close();
    }

    @Override
    public void record(AuditRecord r) {
        if (r == null) {
            throw new IllegalArgumentException("audit record is required");
        }
        try {
            file.append(JsonLine.of(r));
        } catch (IOException | RuntimeException e) {
            throw cannotWrite(e);
        }
    }

    @Override
    public Entry beginRead(AuditRecord started) {
        if (started == null) {
            throw new IllegalArgumentException("audit record is required");
        }
        long first;
        try {
            first = file.write(JsonLine.of(started));
        } catch (IOException | RuntimeException e) {
            throw cannotWrite(e);
        }
        return outcome -> {
            if (outcome == null) {
                throw new IllegalArgumentException("audit record is required");
            }
            try {
                file.awaitDurable(first, file.write(JsonLine.of(outcome)));
            } catch (IOException | RuntimeException e) {
                throw cannotWrite(e);
            }
        };
    }

    private UnavailableException cannotWrite(Exception e) {
        return new UnavailableException("audit log " + file.current() + " cannot be written: " + reason(e), null, e);
    }

    /** Why a write failed, without repeating the path the message already names. */
    private static String reason(Exception e) {
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason() + (fs.getFile() == null || fs.getFile().endsWith(AuditFile.CURRENT) ? "" : " (" + fs.getFile() + ")");
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    static Path folder(String configured, String home, File dataArea) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured.trim());
        }
        if (home != null && !home.isBlank()) {
            return Path.of(home.trim(), "data", "audit");
        }
        if (dataArea == null) {
            throw new IllegalStateException("directory of " + PID + " is not set, openkcm.home is not set, and the "
                    + "framework gives the bundle no data area: configure a directory");
        }
        return dataArea.toPath();
    }

    static boolean forces(String fsync) {
        switch (fsync == null ? "" : fsync.trim().toLowerCase(Locale.ROOT)) {
            case "always":
                return true;
            case "never":
                return false;
            default:
                throw new IllegalArgumentException("fsync of " + PID + " must be always or never, not '" + fsync + "'");
        }
    }
}
