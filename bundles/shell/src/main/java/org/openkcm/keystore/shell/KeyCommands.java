package org.openkcm.keystore.shell;

import static org.openkcm.keystore.shell.Arguments.ABSENT;
import static org.openkcm.keystore.shell.Arguments.given;

import java.io.IOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeystoreOperations;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The {@code keystore:} commands for keys, in the Felix (Gogo) and Karaf shells. Every command
 * goes through {@link KeystoreOperations}; output is aligned text; material is printed only by
 * {@code keystore:reveal}, for one key, on request. Failures are thrown as the api's typed
 * exceptions, whose messages are one line each.
 */
@Component(service = KeyCommands.class)
@GogoCommand(scope = "keystore", function = {"list", "show", "generate", "import", "rotate", "status", "expiry",
        "tags", "delete", "reveal"})
public class KeyCommands {
    @Reference
    private KeystoreOperations keystore;

    public KeyCommands() {
    }

    /** For tests and embedding: commands over a given façade. */
    KeyCommands(KeystoreOperations keystore) {
        this.keystore = keystore;
    }

    @Descriptor("list keys (metadata only), one page at a time")
    public String list(
            @Descriptor("owner as kind/id, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = ABSENT) String owner,
            @Descriptor("owner kind: tenant, service or node") @Parameter(names = "--owner-kind", absentValue = ABSENT) String ownerKind,
            @Descriptor("tier: L2, L3 or L4") @Parameter(names = "--type", absentValue = ABSENT) String type,
            @Descriptor("ACTIVE, DEPRECATED or RETIRED") @Parameter(names = "--status", absentValue = ABSENT) String status,
            @Descriptor("region") @Parameter(names = "--region", absentValue = ABSENT) String region,
            @Descriptor("a tag the keys must carry, key=value") @Parameter(names = "--tag", absentValue = ABSENT) String tag,
            @Descriptor("keys per page") @Parameter(names = "--page-size", absentValue = "100") String pageSize,
            @Descriptor("the cursor printed under the previous page") @Parameter(names = "--cursor", absentValue = ABSENT) String cursor) {
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
        Table table = new Table("ID", "TYPE", "STATUS", "OWNER", "REGION", "ALGORITHM", "SIZE", "EXPIRY", "REV");
        for (KeyMetadata m : page.keys()) {
            table.row(m.id(), m.type(), m.status(), m.owner(), m.region().orElse(null), m.algorithm(), m.keySize(),
                    m.expiry().orElse(null), m.revision());
        }
        StringBuilder out = new StringBuilder(table.toString());
        out.append(table.size()).append(table.size() == 1 ? " key" : " keys");
        page.nextCursor().ifPresent(next -> out.append("; more with --cursor ").append(next));
        return out.toString();
    }

    @Descriptor("show the metadata of one key version")
    public String show(@Descriptor("key id as name:version") String id) {
        return describe(keystore.metadata(KeyId.parse(id)));
    }

    @Descriptor("generate a key with fresh material")
    public String generate(
            @Descriptor("tier: L2, L3 or L4") @Parameter(names = "--type", absentValue = ABSENT) String type,
            @Descriptor("algorithm, e.g. AES") @Parameter(names = "--algorithm", absentValue = "AES") String algorithm,
            @Descriptor("key size in bits") @Parameter(names = "--size", absentValue = "256") String size,
            @Descriptor("owner as kind/id, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = ABSENT) String owner,
            @Descriptor("region") @Parameter(names = "--region", absentValue = ABSENT) String region,
            @Descriptor("the wrapping key, name:version") @Parameter(names = "--parent", absentValue = ABSENT) String parent,
            @Descriptor("expiry, ISO-8601 instant") @Parameter(names = "--expiry", absentValue = ABSENT) String expiry,
            @Descriptor("tags, key=value,key=value") @Parameter(names = "--tags", absentValue = ABSENT) String tags,
            @Descriptor("key name") String name) {
        return describe(keystore.generate(spec(name, type, algorithm, size, owner, region, parent, expiry, tags)));
    }

    /** Gogo maps the command {@code import}, a Java keyword, to this method's name with a leading underscore. */
    @Descriptor("import key material from a file or standard input (never from the command line)")
    public String _import(CommandSession session,
            @Descriptor("file holding the material, or - for standard input") @Parameter(names = "--file", absentValue = ABSENT) String file,
            @Descriptor("raw, base64 or hex") @Parameter(names = "--encoding", absentValue = "raw") String encoding,
            @Descriptor("tier: L2, L3 or L4") @Parameter(names = "--type", absentValue = ABSENT) String type,
            @Descriptor("algorithm, e.g. AES") @Parameter(names = "--algorithm", absentValue = "AES") String algorithm,
            @Descriptor("key size in bits") @Parameter(names = "--size", absentValue = "256") String size,
            @Descriptor("owner as kind/id, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = ABSENT) String owner,
            @Descriptor("region") @Parameter(names = "--region", absentValue = ABSENT) String region,
            @Descriptor("the wrapping key, name:version") @Parameter(names = "--parent", absentValue = ABSENT) String parent,
            @Descriptor("expiry, ISO-8601 instant") @Parameter(names = "--expiry", absentValue = ABSENT) String expiry,
            @Descriptor("tags, key=value,key=value") @Parameter(names = "--tags", absentValue = ABSENT) String tags,
            @Descriptor("key name") String name) throws IOException {
        KeySpec spec = spec(name, type, algorithm, size, owner, region, parent, expiry, tags);
        require("--file", file);
        try (KeyMaterial material = MaterialInput.read(file, encoding, session.getKeyboard())) {
            return describe(keystore.importKey(spec, material));
        }
    }

    @Descriptor("create the next version of a key with fresh material; the previous one becomes DEPRECATED")
    public String rotate(@Descriptor("key name") String name) {
        return describe(keystore.rotate(name));
    }

    @Descriptor("change the status of a key version")
    public String status(
            @Descriptor("the revision you last saw (compare-and-set); default: the current one") @Parameter(names = "--revision", absentValue = ABSENT) String revision,
            @Descriptor("key id as name:version") String id,
            @Descriptor("ACTIVE, DEPRECATED or RETIRED") String status) {
        KeyId key = KeyId.parse(id);
        return describe(keystore.changeStatus(key, Arguments.status("status", status), revision(key, revision)));
    }

    @Descriptor("change the expiry of a key version")
    public String expiry(
            @Descriptor("the revision you last saw (compare-and-set); default: the current one") @Parameter(names = "--revision", absentValue = ABSENT) String revision,
            @Descriptor("key id as name:version") String id,
            @Descriptor("ISO-8601 instant, or none") String expiry) {
        KeyId key = KeyId.parse(id);
        return describe(keystore.changeExpiry(key, Arguments.instantOrNone("expiry", expiry), revision(key, revision)));
    }

    @Descriptor("replace the tags of a key version")
    public String tags(
            @Descriptor("the revision you last saw (compare-and-set); default: the current one") @Parameter(names = "--revision", absentValue = ABSENT) String revision,
            @Descriptor("key id as name:version") String id,
            @Descriptor("tags as key=value; none to remove all") String... tags) {
        KeyId key = KeyId.parse(id);
        List<String> words = tags.length == 1 && "none".equals(tags[0]) ? List.of() : Arrays.asList(tags);
        return describe(keystore.changeTags(key, Arguments.tags("tags", words), revision(key, revision)));
    }

    @Descriptor("delete a key version permanently, or with --all every version of a name")
    public String delete(
            @Descriptor("delete every version of the named key") @Parameter(names = "--all", presentValue = "true", absentValue = "false") boolean all,
            @Descriptor("key id as name:version, or with --all a name") String id) {
        if (all) {
            int deleted = keystore.deleteAllVersions(id);
            return "deleted " + deleted + (deleted == 1 ? " version of " : " versions of ") + id;
        }
        KeyId key = KeyId.parse(id);
        if (!keystore.delete(key)) {
            throw new org.openkcm.keystore.api.KeyNotFoundException(key);
        }
        return "deleted " + key;
    }

    @Descriptor("print the material of one key version in hex; it lands on your screen and in any log of it")
    public String reveal(@Descriptor("key id as name:version") String id) {
        try (KeyMaterial material = keystore.get(KeyId.parse(id))) {
            byte[] bytes = material.copyBytes();
            try {
                return HexFormat.of().formatHex(bytes);
            } finally {
                Arrays.fill(bytes, (byte) 0);
            }
        }
    }

    private long revision(KeyId key, String revision) {
        return given(revision) ? Arguments.revision("--revision", revision) : keystore.metadata(key).revision();
    }

    private static KeySpec spec(String name, String type, String algorithm, String size, String owner, String region,
            String parent, String expiry, String tags) {
        require("--type", type);
        require("--owner", owner);
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

    static String describe(KeyMetadata m) {
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
        return table.toString().stripTrailing();
    }

    private static void require(String option, String value) {
        if (!given(value)) {
            throw new InvalidInputException(option, "is required");
        }
    }
}
