package org.openkcm.keystore.shell;

import static org.openkcm.keystore.shell.Arguments.ABSENT;
import static org.openkcm.keystore.shell.Arguments.REQUIRED;
import static org.openkcm.keystore.shell.Arguments.given;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.audit.AuditLog;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The {@code keystore:} commands for keys, in the Felix (Gogo) and Karaf shells. Every command
 * goes through {@link KeystoreOperations}; output is aligned text; material is printed only by
 * {@code keystore:reveal}, for one key, on request. Failures are thrown as the api's typed
 * exceptions, whose messages are one line each. Every command that changes or deletes a key or
 * reveals material is audited ({@link ShellAudit}) and is not run without a working audit log.
 */
@Component(service = KeyCommands.class)
@GogoCommand(scope = "keystore", function = {"list", "show", "generate", "import", "rotate", "status", "expiry",
        "tags", "delete", "reveal"})
public class KeyCommands {
    @Reference
    private KeystoreOperations keystore;

    /** Where each key is held (the core registers it beside KeystoreOperations). */
    @Reference
    private KeystoreAdministration admin;

    /**
     * Optional and dynamic, so that listing and showing keys work without it; every audited
     * command refuses to run while it is absent (fail closed).
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile AuditLog auditLog;

    private final ShellAudit audit = new ShellAudit(() -> auditLog, Clock.systemUTC());

    public KeyCommands() {
    }

    /** For tests and embedding: commands over a given façade, administration (may be null) and audit log. */
    KeyCommands(KeystoreOperations keystore, KeystoreAdministration admin, AuditLog auditLog) {
        this.keystore = keystore;
        this.admin = admin;
        this.auditLog = auditLog;
    }

    @Descriptor("list keys (metadata only) and the backend holding each, one page at a time")
    public String list(
            @Descriptor("KIND/ID - owner, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = ABSENT) String owner,
            @Descriptor("KIND - owner kind: tenant, service or node") @Parameter(names = "--owner-kind", absentValue = ABSENT) String ownerKind,
            @Descriptor("L2|L3|L4 - tier") @Parameter(names = "--type", absentValue = ABSENT) String type,
            @Descriptor("STATUS - ACTIVE, DEPRECATED or RETIRED") @Parameter(names = "--status", absentValue = ABSENT) String status,
            @Descriptor("REGION - region") @Parameter(names = "--region", absentValue = ABSENT) String region,
            @Descriptor("K=V - a tag the keys must carry") @Parameter(names = "--tag", absentValue = ABSENT) String tag,
            @Descriptor("N - keys per page") @Parameter(names = "--page-size", absentValue = "100") String pageSize,
            @Descriptor("CURSOR - the cursor printed under the previous page") @Parameter(names = "--cursor", absentValue = ABSENT) String cursor) {
        KeyFilter.Builder filter = Arguments.selection(owner, ownerKind, type, region)
                .pageSize(Arguments.positive("--page-size", pageSize));
        if (given(status)) {
            filter.status(Arguments.status("--status", status));
        }
        if (given(tag)) {
            filter.tags(Arguments.tags("--tag", List.of(tag)));
        }
        if (given(cursor)) {
            filter.cursor(cursor);
        }
        KeyPage page = keystore.list(filter.build());
        Table table = new Table("ID", "TYPE", "STATUS", "OWNER", "REGION", "ALGORITHM", "SIZE", "EXPIRY", "REV", "BACKEND");
        for (KeyMetadata m : page.keys()) {
            table.row(m.id(), m.type(), m.status(), m.owner(), m.region().orElse(null), m.algorithm(), m.keySize(),
                    m.expiry().orElse(null), m.revision(), backendOf(m.id()));
        }
        StringBuilder out = new StringBuilder(table.toString());
        out.append(table.size()).append(table.size() == 1 ? " key" : " keys");
        page.nextCursor().ifPresent(next -> out.append("; more with --cursor ").append(next));
        for (String unreadable : page.unreadable()) {
            out.append("\nwarning: not listed, backend ").append(unreadable);
        }
        return out.toString();
    }

    @Descriptor("show the metadata of one key version and the backend holding it")
    public String show(@Descriptor("NAME:VERSION - the key version, e.g. k1:1") String id) {
        KeyId key = KeyId.parse(id);
        return describe(keystore.metadata(key), backendOf(key));
    }

    @Descriptor("generate a key with fresh material")
    public String generate(CommandSession session,
            @Descriptor("L2|L3|L4 - tier") @Parameter(names = "--type", absentValue = REQUIRED) String type,
            @Descriptor("KIND/ID - owner, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = REQUIRED) String owner,
            @Descriptor("ALGORITHM - AES, HMAC-SHA256, HMAC-SHA384 or HMAC-SHA512") @Parameter(names = "--algorithm", absentValue = "AES") String algorithm,
            @Descriptor("BITS - key size") @Parameter(names = "--size", absentValue = "256") String size,
            @Descriptor("REGION - region") @Parameter(names = "--region", absentValue = ABSENT) String region,
            @Descriptor("NAME:VERSION - the wrapping key (ACTIVE, stored here for L3 and L4 keys)") @Parameter(names = "--parent", absentValue = ABSENT) String parent,
            @Descriptor("INSTANT - expiry, an ISO-8601 instant in the future") @Parameter(names = "--expiry", absentValue = ABSENT) String expiry,
            @Descriptor("K=V,... - tags") @Parameter(names = "--tags", absentValue = ABSENT) String tags,
            @Descriptor("NAME - the key name") String name) {
        return audit.run(session, "generate", name, () -> {
            KeySpec spec = spec("generate", name, type, algorithm, size, owner, region, parent, expiry, tags);
            KeyMetadata created = keystore.generate(spec);
            return describe(created, backendOf(created.id()));
        });
    }

    /** Gogo maps the command {@code import}, a Java keyword, to this method's name with a leading underscore. */
    @Descriptor("import key material from a file or standard input (never from the command line)")
    public String _import(CommandSession session,
            @Descriptor("PATH|- - file holding the material, or - for standard input") @Parameter(names = "--file", absentValue = REQUIRED) String file,
            @Descriptor("L2|L3|L4 - tier") @Parameter(names = "--type", absentValue = REQUIRED) String type,
            @Descriptor("KIND/ID - owner, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = REQUIRED) String owner,
            @Descriptor("ENCODING - raw, base64 or hex") @Parameter(names = "--encoding", absentValue = "raw") String encoding,
            @Descriptor("ALGORITHM - AES, HMAC-SHA256, HMAC-SHA384 or HMAC-SHA512") @Parameter(names = "--algorithm", absentValue = "AES") String algorithm,
            @Descriptor("BITS - key size") @Parameter(names = "--size", absentValue = "256") String size,
            @Descriptor("REGION - region") @Parameter(names = "--region", absentValue = ABSENT) String region,
            @Descriptor("NAME:VERSION - the wrapping key (ACTIVE, stored here for L3 and L4 keys)") @Parameter(names = "--parent", absentValue = ABSENT) String parent,
            @Descriptor("INSTANT - expiry, an ISO-8601 instant in the future") @Parameter(names = "--expiry", absentValue = ABSENT) String expiry,
            @Descriptor("K=V,... - tags") @Parameter(names = "--tags", absentValue = ABSENT) String tags,
            @Descriptor("NAME - the key name") String name) throws IOException {
        return audit.run(session, "import", name, () -> {
            KeySpec spec = spec("import", name, type, algorithm, size, owner, region, parent, expiry, tags);
            String source = Arguments.required("import", "--file", file);
            try (KeyMaterial material = MaterialInput.read(source, encoding, session.getKeyboard())) {
                KeyMetadata created = keystore.importKey(spec, material);
                return describe(created, backendOf(created.id()));
            }
        });
    }

    @Descriptor("create the next version of a key with fresh material; the previous one becomes DEPRECATED")
    public String rotate(CommandSession session, @Descriptor("NAME - the key name") String name) {
        return audit.run(session, "rotate", name, () -> {
            KeyMetadata created = keystore.rotate(name);
            return describe(created, backendOf(created.id()));
        });
    }

    @Descriptor("change the status of a key version")
    public String status(CommandSession session,
            @Descriptor("REV - the revision you last saw (compare-and-set); default: the current one") @Parameter(names = "--revision", absentValue = ABSENT) String revision,
            @Descriptor("NAME:VERSION - the key version") String id,
            @Descriptor("ACTIVE|DEPRECATED|RETIRED - the new status") String status) {
        return audit.run(session, "status", id, () -> {
            KeyId key = KeyId.parse(id);
            return describe(keystore.changeStatus(key, Arguments.status("status", status), revision(key, revision)),
                    backendOf(key));
        });
    }

    @Descriptor("change the expiry of a key version")
    public String expiry(CommandSession session,
            @Descriptor("REV - the revision you last saw (compare-and-set); default: the current one") @Parameter(names = "--revision", absentValue = ABSENT) String revision,
            @Descriptor("NAME:VERSION - the key version") String id,
            @Descriptor("INSTANT|none - an ISO-8601 instant, or none") String expiry) {
        return audit.run(session, "expiry", id, () -> {
            KeyId key = KeyId.parse(id);
            return describe(keystore.changeExpiry(key, Arguments.instantOrNone("expiry", expiry), revision(key, revision)),
                    backendOf(key));
        });
    }

    @Descriptor("replace the tags of a key version")
    public String tags(CommandSession session,
            @Descriptor("REV - the revision you last saw (compare-and-set); default: the current one") @Parameter(names = "--revision", absentValue = ABSENT) String revision,
            @Descriptor("NAME:VERSION - the key version") String id,
            @Descriptor("K=V|none - the tags; none to remove all") String... tags) {
        return audit.run(session, "tags", id, () -> {
            KeyId key = KeyId.parse(id);
            List<String> words = tags.length == 1 && "none".equals(tags[0]) ? List.of() : Arrays.asList(tags);
            return describe(keystore.changeTags(key, Arguments.tags("tags", words), revision(key, revision)),
                    backendOf(key));
        });
    }

    @Descriptor("delete a key version permanently, or with --all every version of a name; a key that is the parent of others only with --force")
    public String delete(CommandSession session,
            @Descriptor("delete every version of the named key") @Parameter(names = "--all", presentValue = "true", absentValue = "false") boolean all,
            @Descriptor("delete even if other keys name it as their parent") @Parameter(names = "--force", presentValue = "true", absentValue = "false") boolean force,
            @Descriptor("NAME:VERSION|NAME - the key version, or with --all a key name") String id) {
        return audit.run(session, all ? "delete-all" : "delete", id, () -> deleteNow(all, force, id));
    }

    private String deleteNow(boolean all, boolean force, String id) {
        if (all) {
            Validation.keyName(id);
            if (!force) {
                refuseIfParent(id, null);
            }
            int deleted = keystore.deleteAllVersions(id);
            if (deleted == 0) {
                throw new KeyNotFoundException(id);
            }
            return "deleted " + deleted + (deleted == 1 ? " version of " : " versions of ") + id;
        }
        KeyId key = KeyId.parse(id);
        if (!force) {
            refuseIfParent(key.name(), key);
        }
        if (!keystore.delete(key)) {
            throw new KeyNotFoundException(key);
        }
        return "deleted " + key;
    }

    @Descriptor("print the material of one key version in hex; it lands on your screen and in any log of it")
    public String reveal(CommandSession session, @Descriptor("NAME:VERSION - the key version") String id) {
        return audit.run(session, "reveal", id, () -> {
            try (KeyMaterial material = keystore.get(KeyId.parse(id))) {
                byte[] bytes = material.copyBytes();
                try {
                    return HexFormat.of().formatHex(bytes);
                } finally {
                    Arrays.fill(bytes, (byte) 0);
                }
            }
        });
    }

    /**
     * Refuses to delete a key (one version, or with a null version every version of the name) that
     * other keys name as their parent: deleting it would leave them unopenable by whoever unwraps
     * them with it. Reads every page of the listing; children of a backend that cannot be read now
     * are not seen.
     */
    private void refuseIfParent(String name, KeyId version) {
        List<KeyId> children = new ArrayList<>();
        KeyFilter filter = KeyFilter.builder().pageSize(1000).build();
        KeyPage page = keystore.list(filter);
        while (true) {
            for (KeyMetadata m : page.keys()) {
                KeyId parent = m.parent().orElse(null);
                if (parent != null && parent.name().equals(name) && (version == null || parent.equals(version))
                        && !m.id().name().equals(name)) {
                    children.add(m.id());
                }
            }
            String next = page.nextCursor().orElse(null);
            if (next == null) {
                break;
            }
            page = keystore.list(filter.withCursor(next));
        }
        if (!children.isEmpty()) {
            String shown = children.size() <= 5 ? children.toString()
                    : children.subList(0, 5) + " and " + (children.size() - 5) + " more";
            throw new PolicyRefusedException(version, (version == null ? "key " + name : "it")
                    + " is the parent of " + shown + "; delete those first, or give --force");
        }
    }

    /** The backend holding the key, as the keystore recorded it; null (printed "-") if it has no record. */
    private String backendOf(KeyId id) {
        KeystoreAdministration a = admin;
        return a == null ? null : a.locationOf(id).orElse(null);
    }

    private long revision(KeyId key, String revision) {
        return given(revision) ? Arguments.revision("--revision", revision) : keystore.metadata(key).revision();
    }

    private static KeySpec spec(String command, String name, String type, String algorithm, String size, String owner,
            String region, String parent, String expiry, String tags) {
        Arguments.required(command, "--type", type);
        Arguments.required(command, "--owner", owner);
        return KeySpec.builder()
                .name(name)
                .type(Arguments.type("--type", type))
                .algorithm(algorithm)
                .keySize(Arguments.positive("--size", size))
                .owner(Arguments.owner("--owner", owner))
                .region(given(region) ? region : null)
                .parent(given(parent) ? KeyId.parse(parent) : null)
                .expiry(given(expiry) ? Arguments.instantOrNone("--expiry", expiry) : null)
                .tags(given(tags) ? Arguments.tags("--tags", Arrays.asList(tags.split(","))) : Map.of())
                .build();
    }

    static String describe(KeyMetadata m, String backend) {
        Table table = new Table("FIELD", "VALUE");
        table.row("id", m.id());
        table.row("type", m.type());
        table.row("status", m.status());
        table.row("algorithm", m.algorithm());
        table.row("size", m.keySize());
        table.row("owner", m.owner());
        table.row("region", m.region().orElse(null));
        table.row("parent", m.parent().orElse(null));
        table.row("expiry", m.expiry().map(Instant::toString).orElse(null));
        table.row("tags", m.tags().isEmpty() ? null : m.tags());
        table.row("created", m.created());
        table.row("updated", m.updated());
        table.row("revision", m.revision());
        table.row("backend", backend);
        return table.toString().stripTrailing();
    }
}
