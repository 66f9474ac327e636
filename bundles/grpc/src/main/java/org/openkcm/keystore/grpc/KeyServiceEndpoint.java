package org.openkcm.keystore.grpc;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.grpc.v1.DeleteRequest;
import org.openkcm.keystore.grpc.v1.DeleteResponse;
import org.openkcm.keystore.grpc.v1.GenerateRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialResponse;
import org.openkcm.keystore.grpc.v1.GetMetadataRequest;
import org.openkcm.keystore.grpc.v1.ImportRequest;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.openkcm.keystore.grpc.v1.ListRequest;
import org.openkcm.keystore.grpc.v1.ListResponse;
import org.openkcm.keystore.grpc.v1.RotateRequest;
import org.openkcm.keystore.grpc.v1.SetExpiryRequest;
import org.openkcm.keystore.grpc.v1.SetStatusRequest;
import org.openkcm.keystore.grpc.v1.SetTagsRequest;

import com.google.protobuf.UnsafeByteOperations;

import io.grpc.stub.StreamObserver;

/**
 * KeyService over {@link KeystoreOperations}. Every call checks the caller's grants against the
 * key's owner and tier before it changes or returns anything; the key's owner and tier are read
 * from its metadata where the request names only the key, and a caller not granted the key gets
 * the same refusal whether or not it exists (see {@link Caller#requireOnKey}).
 */
final class KeyServiceEndpoint extends KeyServiceGrpc.KeyServiceImplBase {
    /** How many pages of the keystore one List call reads at most to fill a page of visible keys. */
    private static final int MAX_PAGES_PER_LIST = 20;

    private final KeystoreOperations operations;
    private final GrpcAudit audit;

    KeyServiceEndpoint(KeystoreOperations operations, GrpcAudit audit) {
        this.operations = operations;
        this.audit = audit;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<org.openkcm.keystore.grpc.v1.KeyMetadata> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            KeySpec spec = ProtoConversion.keySpec(request);
            return audit.run(caller, "generate", spec.name() + ":1", () -> {
                caller.require(OperationClass.LIFECYCLE, spec.owner(), spec.type());
                return ProtoConversion.metadata(operations.generate(spec));
            });
        });
    }

    @Override
    public void import_(ImportRequest request, StreamObserver<org.openkcm.keystore.grpc.v1.KeyMetadata> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            if (!request.hasSpec()) {
                throw new InvalidInputException("spec", "is required");
            }
            KeySpec spec = ProtoConversion.keySpec(request.getSpec());
            if (request.getMaterial().isEmpty()) {
                throw new InvalidInputException("material", "is required");
            }
            return audit.run(caller, "import", spec.name() + ":1", () -> {
                caller.require(OperationClass.LIFECYCLE, spec.owner(), spec.type());
                caller.require(OperationClass.MATERIAL, spec.owner(), spec.type());
                try (KeyMaterial material = KeyMaterial.wrap(request.getMaterial().toByteArray())) {
                    return ProtoConversion.metadata(operations.importKey(spec, material));
                }
            });
        });
    }

    @Override
    public void getMaterial(GetMaterialRequest request, StreamObserver<GetMaterialResponse> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            KeyId id = ProtoConversion.keyId("id", request.getId(), true);
            return audit.read(caller, "get", id.toString(), () -> {
                // Whoever may read every key's material needs no look-up of its owner first: one
                // read of the key instead of two (a missing key is NOT_FOUND from get, as it would be from the look-up).
                if (!caller.mayOnEveryKey(OperationClass.MATERIAL)) {
                    requireOnKey(caller, OperationClass.MATERIAL, id);
                }
                try (KeyMaterial material = operations.get(id)) {
                    // The copy goes to the wire unshared; the opened material is wiped at once.
                    byte[] bytes = material.copyBytes();
                    return GetMaterialResponse.newBuilder().setId(ProtoConversion.keyId(id))
                            .setMaterial(UnsafeByteOperations.unsafeWrap(bytes)).build();
                }
            });
        });
    }

    @Override
    public void getMetadata(GetMetadataRequest request,
            StreamObserver<org.openkcm.keystore.grpc.v1.KeyMetadata> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            KeyId id = ProtoConversion.keyId("id", request.getId(), true);
            return ProtoConversion.metadata(requireOnKey(caller, OperationClass.METADATA, id));
        });
    }

    @Override
    public void rotate(RotateRequest request, StreamObserver<org.openkcm.keystore.grpc.v1.KeyMetadata> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            String name = Validation.keyName(request.getName());
            return audit.run(caller, "rotate", name, () -> {
                caller.requireOnKey(OperationClass.LIFECYCLE, name, () -> anyVersionOf(name)
                        .orElseThrow(() -> new KeyNotFoundException(name)))
                        .orElseThrow(() -> new KeyNotFoundException(name));
                return ProtoConversion.metadata(operations.rotate(name));
            });
        });
    }

    @Override
    public void setStatus(SetStatusRequest request, StreamObserver<org.openkcm.keystore.grpc.v1.KeyMetadata> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            KeyId id = ProtoConversion.keyId("id", request.getId(), true);
            var status = ProtoConversion.keyStatus("status", request.getStatus(), true);
            long revision = expectedRevision(request.getExpectedRevision());
            return audit.run(caller, "set-status", id.toString(), () -> {
                requireOnKey(caller, OperationClass.LIFECYCLE, id);
                return ProtoConversion.metadata(operations.changeStatus(id, status, revision));
            });
        });
    }

    @Override
    public void setExpiry(SetExpiryRequest request, StreamObserver<org.openkcm.keystore.grpc.v1.KeyMetadata> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            KeyId id = ProtoConversion.keyId("id", request.getId(), true);
            var expiry = request.hasExpiry() ? ProtoConversion.instant(request.getExpiry()) : null;
            long revision = expectedRevision(request.getExpectedRevision());
            return audit.run(caller, "set-expiry", id.toString(), () -> {
                requireOnKey(caller, OperationClass.LIFECYCLE, id);
                return ProtoConversion.metadata(operations.changeExpiry(id, expiry, revision));
            });
        });
    }

    @Override
    public void setTags(SetTagsRequest request, StreamObserver<org.openkcm.keystore.grpc.v1.KeyMetadata> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            KeyId id = ProtoConversion.keyId("id", request.getId(), true);
            var tags = Validation.tags(request.getTagsMap());
            long revision = expectedRevision(request.getExpectedRevision());
            return audit.run(caller, "set-tags", id.toString(), () -> {
                requireOnKey(caller, OperationClass.LIFECYCLE, id);
                return ProtoConversion.metadata(operations.changeTags(id, tags, revision));
            });
        });
    }

    @Override
    public void delete(DeleteRequest request, StreamObserver<DeleteResponse> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            switch (request.getTargetCase()) {
                case ID -> {
                    KeyId id = ProtoConversion.keyId("id", request.getId(), true);
                    return audit.run(caller, "delete", id.toString(), () -> {
                        if (caller.requireOnKey(OperationClass.LIFECYCLE, id.toString(), () -> operations.metadata(id))
                                .isEmpty()) {
                            return DeleteResponse.newBuilder().setDeleted(0).build();
                        }
                        return DeleteResponse.newBuilder().setDeleted(operations.delete(id) ? 1 : 0).build();
                    });
                }
                case ALL_VERSIONS_OF -> {
                    String name = Validation.keyName(request.getAllVersionsOf());
                    return audit.run(caller, "delete-all", name, () -> {
                        Optional<KeyMetadata> known = caller.requireOnKey(OperationClass.LIFECYCLE, name,
                                () -> anyVersionOf(name).orElseThrow(() -> new KeyNotFoundException(name)));
                        if (known.isEmpty()) {
                            return DeleteResponse.newBuilder().setDeleted(0).build();
                        }
                        return DeleteResponse.newBuilder().setDeleted(operations.deleteAllVersions(name)).build();
                    });
                }
                default -> throw new InvalidInputException("target", "set id or all_versions_of");
            }
        });
    }

    /**
     * Lists only the keys the caller may see (metadata on their owner and tier): keystore pages are
     * read until a page of visible keys is full, the keystore has no more, or a bound is reached;
     * the cursor then resumes after the last key examined.
     */
    @Override
    public void list(ListRequest request, StreamObserver<ListResponse> response) {
        unary(response, () -> {
            Caller caller = Caller.current();
            KeyFilter filter = ProtoConversion.keyFilter(request.getFilter());
            caller.requireListable(filter);
            ListResponse.Builder page = ListResponse.newBuilder();
            String cursor = filter.cursor().orElse(null);
            String next = null;
            boolean admin = callerIsAdmin(caller);
            for (int read = 0; read < MAX_PAGES_PER_LIST; read++) {
                KeyPage keys = operations.list(filter.withCursor(cursor));
                if (admin) {
                    page.addAllUnreadable(keys.unreadable());
                }
                KeyId last = null;
                for (KeyMetadata key : keys.keys()) {
                    last = key.id();
                    if (caller.may(OperationClass.METADATA, key)) {
                        page.addKeys(ProtoConversion.metadata(key));
                        if (page.getKeysCount() == filter.pageSize()) {
                            break;
                        }
                    }
                }
                boolean pageFull = page.getKeysCount() == filter.pageSize();
                boolean stoppedEarly = pageFull && last != null && !last.equals(lastOf(keys));
                if (stoppedEarly) {
                    next = KeyPage.cursorAfter(last);
                    break;
                }
                next = keys.nextCursor().orElse(null);
                if (next == null || pageFull) {
                    break;
                }
                cursor = next;
            }
            if (next != null) {
                page.setNextCursor(next);
            }
            return page.build();
        });
    }

    /** The named key's metadata, if the caller may do the operation on it; see {@link Caller#requireOnKey}. */
    private KeyMetadata requireOnKey(Caller caller, OperationClass operation, KeyId id) {
        return caller.requireOnKey(operation, id.toString(), () -> operations.metadata(id))
                .orElseThrow(() -> new KeyNotFoundException(id));
    }

    private static KeyId lastOf(KeyPage page) {
        List<KeyMetadata> keys = page.keys();
        return keys.isEmpty() ? null : keys.get(keys.size() - 1).id();
    }

    private static boolean callerIsAdmin(Caller caller) {
        try {
            caller.require(OperationClass.ADMIN);
            return true;
        } catch (StatusMapping.NotGrantedException e) {
            return false;
        }
    }

    /**
     * Some version of the named key (its owner and tier are those of every version): version 1 if
     * it still exists, else the first the keystore lists in key order.
     */
    private Optional<KeyMetadata> anyVersionOf(String name) {
        try {
            return Optional.of(operations.metadata(KeyId.of(name, 1)));
        } catch (KeyNotFoundException e) {
            // Version 1 was deleted; look further.
        }
        KeyFilter filter = KeyFilter.builder().pageSize(Validation.MAX_PAGE_SIZE).build();
        String cursor = null;
        do {
            KeyPage page = operations.list(filter.withCursor(cursor));
            List<KeyMetadata> found = new ArrayList<>();
            for (KeyMetadata key : page.keys()) {
                int order = key.id().name().compareTo(name);
                if (order == 0) {
                    found.add(key);
                    break;
                }
                if (order > 0) {
                    return Optional.empty();
                }
            }
            if (!found.isEmpty()) {
                return Optional.of(found.get(0));
            }
            cursor = page.nextCursor().orElse(null);
        } while (cursor != null);
        return Optional.empty();
    }

    private static long expectedRevision(long revision) {
        if (revision <= 0) {
            throw new InvalidInputException("expected_revision", "is required (revisions start at 1)");
        }
        return revision;
    }

    /** Runs one unary call: its answer, or its failure mapped to a status. */
    static <T> void unary(StreamObserver<T> response, Supplier<T> call) {
        T answer;
        try {
            answer = call.get();
        } catch (RuntimeException e) {
            response.onError(StatusMapping.toStatus(e));
            return;
        }
        response.onNext(answer);
        response.onCompleted();
    }
}
