// Package sdktest runs the core cases of the keystore contract against a Backend, for plugin
// authors who do not run the Java conformance suite (which the host's build runs through gRPC).
package sdktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openkcm/keystore/plugins/go/sdk"
	"google.golang.org/grpc/codes"
)

// Run runs each core case against a fresh, empty backend from newBackend.
func Run(t *testing.T, newBackend func(t *testing.T) sdk.Backend) {
	cases := map[string]func(*testing.T, sdk.Backend){
		"store and retrieve round-trip":            roundTrip,
		"store is create-only, retries idempotent": createOnly,
		"update is compare-and-set":                compareAndSet,
		"rewrap is compare-and-set":                rewrap,
		"delete is permanent":                      deletePermanent,
		"list pages in KeyID order":                listPages,
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) { run(t, newBackend(t)) })
	}
}

var ctx = context.Background()

// Metadata is a minimal valid metadata for id.
func Metadata(id sdk.KeyID) sdk.Metadata {
	t0 := time.UnixMilli(1_767_225_600_000).UTC()
	return sdk.Metadata{ID: id, Type: sdk.L4, Algorithm: "AES", KeySize: 256, Status: sdk.Active,
		Owner: sdk.Owner{Kind: sdk.Tenant, ID: "acme"}, Tags: map[string]string{}, Created: t0, Updated: t0, Revision: 1}
}

func code(err error) codes.Code {
	var e *sdk.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return codes.Unknown
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func roundTrip(t *testing.T, b sdk.Backend) {
	id := sdk.KeyID{Name: "k", Version: 1}
	md := Metadata(id)
	md.Region, md.Tags = "eu", map[string]string{"env": "prod"}
	must(t, b.StoreKey(ctx, id, []byte{1, 2, 3}, md))
	got, err := b.RetrieveKey(ctx, id)
	must(t, err)
	if !bytes.Equal(got.Sealed, []byte{1, 2, 3}) || !got.Metadata.Equal(md) {
		t.Fatalf("got %+v", got)
	}
	if _, err := b.RetrieveKey(ctx, sdk.KeyID{Name: "absent", Version: 1}); code(err) != codes.NotFound {
		t.Fatalf("absent key: %v", err)
	}
}

func createOnly(t *testing.T, b sdk.Backend) {
	id := sdk.KeyID{Name: "once", Version: 1}
	md := Metadata(id)
	must(t, b.StoreKey(ctx, id, []byte{1}, md))
	must(t, b.StoreKey(ctx, id, []byte{1}, md))
	if err := b.StoreKey(ctx, id, []byte{2}, md); code(err) != codes.AlreadyExists {
		t.Fatalf("different record: %v", err)
	}
	got, _ := b.RetrieveKey(ctx, id)
	if !bytes.Equal(got.Sealed, []byte{1}) {
		t.Fatal("the refused store changed the record")
	}
}

func compareAndSet(t *testing.T, b sdk.Backend) {
	id := sdk.KeyID{Name: "cas", Version: 1}
	md := Metadata(id)
	must(t, b.StoreKey(ctx, id, []byte{1}, md))
	next := md
	next.Status, next.Revision = sdk.Deprecated, 2
	if _, err := b.UpdateKeyMetadata(ctx, id, next); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateKeyMetadata(ctx, id, next); code(err) != codes.Aborted {
		t.Fatalf("stale revision: %v", err)
	}
	moved := next
	moved.Revision, moved.Owner = 3, sdk.Owner{Kind: sdk.Tenant, ID: "other"}
	if _, err := b.UpdateKeyMetadata(ctx, id, moved); code(err) != codes.InvalidArgument {
		t.Fatalf("immutable field changed: %v", err)
	}
}

func rewrap(t *testing.T, b sdk.Backend) {
	id := sdk.KeyID{Name: "rewrap", Version: 1}
	must(t, b.StoreKey(ctx, id, []byte{1}, Metadata(id)))
	if err := b.RewrapKey(ctx, id, []byte{9}, 2); code(err) != codes.Aborted {
		t.Fatalf("stale revision: %v", err)
	}
	must(t, b.RewrapKey(ctx, id, []byte{9}, 1))
	got, _ := b.RetrieveKey(ctx, id)
	if !bytes.Equal(got.Sealed, []byte{9}) || got.Metadata.Revision != 1 {
		t.Fatalf("got %+v", got)
	}
}

func deletePermanent(t *testing.T, b sdk.Backend) {
	id := sdk.KeyID{Name: "doomed", Version: 1}
	must(t, b.StoreKey(ctx, id, []byte{1}, Metadata(id)))
	if deleted, err := b.DeleteKey(ctx, id); err != nil || !deleted {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if deleted, err := b.DeleteKey(ctx, id); err != nil || deleted {
		t.Fatalf("second delete: %v %v", deleted, err)
	}
	if _, err := b.RetrieveKey(ctx, id); code(err) != codes.NotFound {
		t.Fatalf("deleted key: %v", err)
	}
}

func listPages(t *testing.T, b sdk.Backend) {
	for i := 9; i >= 0; i-- {
		id := sdk.KeyID{Name: fmt.Sprintf("page-%02d", i), Version: 1}
		must(t, b.StoreKey(ctx, id, []byte{byte(i)}, Metadata(id)))
	}
	var seen []sdk.KeyID
	f := sdk.Filter{PageSize: 3}
	for {
		page, err := b.ListKeys(ctx, f)
		must(t, err)
		seen = append(seen, idsOf(page)...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(seen) != 10 {
		t.Fatalf("listed %v", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1].Compare(seen[i]) >= 0 {
			t.Fatalf("not in KeyID order: %v", seen)
		}
	}
	if _, err := b.ListKeys(ctx, sdk.Filter{PageSize: 1, Cursor: "forged"}); code(err) != codes.InvalidArgument {
		t.Fatalf("forged cursor: %v", err)
	}
}

func idsOf(p sdk.Page) []sdk.KeyID {
	ids := make([]sdk.KeyID, 0, len(p.Keys))
	for _, m := range p.Keys {
		ids = append(ids, m.ID)
	}
	return ids
}
