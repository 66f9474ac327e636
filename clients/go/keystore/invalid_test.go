package keystore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/openkcm/keystore/clients/go/keystore"
	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

// Every RPC with one invalid field answers INVALID_ARGUMENT naming that field, and nothing changes:
// the test owner's key keeps its metadata and no key is added.
func TestEveryRPCWithAnInvalidFieldIsInvalidInputNamingItAndChangesNothing(t *testing.T) {
	owner := tenant(name("invalid-tenant"))
	existing := mustGenerate(t, l3(name("invalid"), owner))
	id := existing.GetId()
	spec := func(change func(*keystorev1.KeySpec)) *keystorev1.KeySpec {
		s := l3(name("invalid-new"), owner)
		change(s)
		return s
	}
	bad := "not a valid name!"
	cases := []struct {
		rpc, field string
		call       func() error
	}{
		{"Generate", "name", func() error {
			_, err := admin.Generate(ctx(t), spec(func(s *keystorev1.KeySpec) { s.Name = "" }))
			return err
		}},
		{"Generate", "name", func() error {
			_, err := admin.Generate(ctx(t), spec(func(s *keystorev1.KeySpec) { s.Name = bad }))
			return err
		}},
		{"Generate", "keysize", func() error {
			_, err := admin.Generate(ctx(t), spec(func(s *keystorev1.KeySpec) { s.KeySize = 1 << 30 }))
			return err
		}},
		{"Generate", "region", func() error {
			_, err := admin.Generate(ctx(t), spec(func(s *keystorev1.KeySpec) { s.Region = proto.String(bad) }))
			return err
		}},
		{"Generate", "tags", func() error {
			_, err := admin.Generate(ctx(t), spec(func(s *keystorev1.KeySpec) { s.Tags = map[string]string{"": "x"} }))
			return err
		}},
		{"Generate", "type", func() error {
			_, err := admin.Generate(ctx(t), spec(func(s *keystorev1.KeySpec) { s.Type = keystorev1.KeyType_KEY_TYPE_UNSPECIFIED }))
			return err
		}},
		{"Import", "material", func() error { _, err := admin.Import(ctx(t), spec(func(*keystorev1.KeySpec) {}), nil); return err }},
		{"GetMaterial", "version", func() error { _, err := admin.Material(ctx(t), keystore.ID(id.GetName(), 0)); return err }},
		{"GetMetadata", "name", func() error { _, err := admin.Metadata(ctx(t), keystore.ID(bad, 1)); return err }},
		{"Rotate", "name", func() error { _, err := admin.Rotate(ctx(t), bad); return err }},
		{"SetStatus", "status", func() error {
			_, err := admin.SetStatus(ctx(t), id, keystorev1.KeyStatus_KEY_STATUS_UNSPECIFIED, existing.GetRevision())
			return err
		}},
		{"SetExpiry", "version", func() error {
			_, err := admin.SetExpiry(ctx(t), keystore.ID(id.GetName(), 0), time.Now().Add(time.Hour), existing.GetRevision())
			return err
		}},
		{"SetTags", "tags", func() error {
			_, err := admin.SetTags(ctx(t), id, map[string]string{strings.Repeat("k", 10000): "v"}, existing.GetRevision())
			return err
		}},
		{"Delete", "version", func() error { _, err := admin.Delete(ctx(t), keystore.ID(id.GetName(), 0)); return err }},
		{"Delete", "name", func() error { _, err := admin.DeleteAll(ctx(t), bad); return err }},
		{"Generate", "owner", func() error {
			_, err := admin.Generate(ctx(t), spec(func(s *keystorev1.KeySpec) { s.Owner = nil }))
			return err
		}},
		{"SetTags", "expectedrevision", func() error {
			_, err := admin.SetTags(ctx(t), id, map[string]string{"a": "b"}, 0)
			return err
		}},
		{"Delete", "target", func() error {
			_, err := admin.Keys.Delete(ctx(t), &keystorev1.DeleteRequest{})
			return keystore.MapError(err)
		}},
		{"Locate", "ids", func() error { _, err := admin.Locate(ctx(t)); return err }},
		{"Locate", "version", func() error { _, err := admin.Locate(ctx(t), id, keystore.ID(id.GetName(), 0)); return err }},
		{"Migrate", "type", func() error {
			_, err := admin.Migrate(ctx(t), &keystorev1.KeyFilter{Type: keystorev1.KeyType(99)}, nil)
			return err
		}},
		{"List", "pagesize", func() error {
			_, err := admin.List(ctx(t), &keystorev1.KeyFilter{PageSize: 100000})
			return err
		}},
		{"List", "cursor", func() error {
			_, err := admin.List(ctx(t), &keystorev1.KeyFilter{Cursor: "\x00not a cursor"})
			return err
		}},
	}
	for _, c := range cases {
		err := c.call()
		var mapped *keystore.Error
		if !errors.Is(err, keystore.ErrInvalidInput) || !errors.As(err, &mapped) {
			t.Errorf("%s with an invalid %s: %v", c.rpc, c.field, err)
			continue
		}
		if !strings.Contains(strings.ToLower(strings.ReplaceAll(mapped.Field, "_", "")), c.field) {
			t.Errorf("%s with an invalid %s names the field %q (%v)", c.rpc, c.field, mapped.Field, err)
		}
	}

	now, err := admin.Metadata(ctx(t), id)
	if err != nil || !proto.Equal(now, existing) {
		t.Errorf("the key changed:\n%v\n%v", now, existing)
	}
	keys, err := admin.ListAll(ctx(t), &keystorev1.KeyFilter{OwnerKind: owner.Kind, OwnerId: proto.String(owner.Id)})
	if err != nil || len(keys) != 1 {
		t.Errorf("the owner holds %d keys after the refused calls, want 1 (%v)", len(keys), err)
	}
}

func TestAnOversizedMessageIsRefusedAndStoresNothing(t *testing.T) {
	spec := l3(name("huge"), tenant("huge-acme"))
	_, err := admin.Import(ctx(t), spec, make([]byte, 8<<20))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("an 8 MiB import: %v", err)
	}
	if _, err := admin.Metadata(ctx(t), keystore.ID(spec.GetName(), 1)); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("after the refused import: %v", err)
	}
}
