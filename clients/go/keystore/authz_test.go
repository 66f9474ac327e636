package keystore_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/openkcm/keystore/clients/go/keystore"
	"github.com/openkcm/keystore/clients/go/keystoretest"
	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

// The applications the runtime starts with, issued by keystore:grpcclient: one that may manage
// and see tenant authz-acme's L3 keys but not read their material, and one that may only read
// that tenant's L3 material.
const (
	authzTenant      = "authz-acme"
	managerName      = "go-test-manager"
	readerName       = "go-test-reader"
	authzOtherTenant = "authz-other"
)

func applications() []string {
	return []string{
		keystoretest.GrantCommand(managerName, "tenant:"+authzTenant, "L3", "metadata,lifecycle"),
		keystoretest.GrantCommand(readerName, "tenant:"+authzTenant, "L3", "material"),
	}
}

func TestAClientMayDoOnlyWhatItsGrantsCoverAndARefusalChangesNothing(t *testing.T) {
	manager := limitedClient(t, managerName)
	reader := limitedClient(t, readerName)
	other := mustGenerate(t, l3(name("authz-other"), tenant(authzOtherTenant)))

	// Granted: lifecycle and metadata on the tenant's L3 keys.
	own, err := manager.Generate(ctx(t), l3(name("authz"), tenant(authzTenant)))
	if err != nil {
		t.Fatalf("a granted Generate: %v", err)
	}
	if _, err := manager.Metadata(ctx(t), own.GetId()); err != nil {
		t.Errorf("a granted GetMetadata: %v", err)
	}
	tagged, err := manager.SetTags(ctx(t), own.GetId(), map[string]string{"by": "manager"}, own.GetRevision())
	if err != nil {
		t.Errorf("a granted SetTags: %v", err)
	}
	material, err := reader.Material(ctx(t), own.GetId())
	if err != nil || len(material) != 32 {
		t.Errorf("the reader's granted GetMaterial: %v", err)
	}
	keystore.Zero(material)

	refused := map[string]func() error{
		"GetMaterial without the material class": func() error { _, err := manager.Material(ctx(t), own.GetId()); return err },
		"Import without the material class": func() error {
			_, err := manager.Import(ctx(t), l3(name("authz-import"), tenant(authzTenant)), make([]byte, 32))
			return err
		},
		"Generate for another tenant": func() error {
			_, err := manager.Generate(ctx(t), l3(name("authz-denied"), tenant(authzOtherTenant)))
			return err
		},
		"Generate of an L2 key": func() error {
			spec := l3(name("authz-l2"), tenant(authzTenant))
			spec.Type = keystorev1.KeyType_KEY_TYPE_L2
			_, err := manager.Generate(ctx(t), spec)
			return err
		},
		"GetMetadata of another tenant's key": func() error { _, err := manager.Metadata(ctx(t), other.GetId()); return err },
		"SetTags of another tenant's key": func() error {
			_, err := manager.SetTags(ctx(t), other.GetId(), map[string]string{"x": "y"}, other.GetRevision())
			return err
		},
		"SetStatus of another tenant's key": func() error {
			_, err := manager.SetStatus(ctx(t), other.GetId(), keystorev1.KeyStatus_KEY_STATUS_RETIRED, other.GetRevision())
			return err
		},
		"Rotate of another tenant's key":         func() error { _, err := manager.Rotate(ctx(t), other.GetId().GetName()); return err },
		"Delete of another tenant's key":         func() error { _, err := manager.Delete(ctx(t), other.GetId()); return err },
		"DeleteAll of another tenant's key":      func() error { _, err := manager.DeleteAll(ctx(t), other.GetId().GetName()); return err },
		"GetMaterial of another tenant's key":    func() error { _, err := reader.Material(ctx(t), other.GetId()); return err },
		"GetMetadata without the metadata class": func() error { _, err := reader.Metadata(ctx(t), own.GetId()); return err },
		"Delete without the lifecycle class":     func() error { _, err := reader.Delete(ctx(t), own.GetId()); return err },
		"ListBackends without the admin class":   func() error { _, err := manager.Backends(ctx(t)); return err },
		"Rewrap without the admin class":         func() error { _, err := manager.Rewrap(ctx(t)); return err },
		"Migrate without the admin class":        func() error { _, err := manager.Migrate(ctx(t), nil, nil); return err },
	}
	for what, call := range refused {
		if err := call(); !errors.Is(err, keystore.ErrPermissionDenied) {
			t.Errorf("%s: %v", what, err)
		}
	}

	// Nothing the refused calls tried happened.
	if now, err := admin.Metadata(ctx(t), other.GetId()); err != nil || !proto.Equal(now, other) {
		t.Errorf("the other tenant's key changed: %v %v", now, err)
	}
	if _, err := admin.Metadata(ctx(t), keystore.ID(other.GetId().GetName(), 2)); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("a refused Rotate made version 2: %v", err)
	}
	if now, err := admin.Metadata(ctx(t), own.GetId()); err != nil || !proto.Equal(now, tagged) {
		t.Errorf("the reader's refused Delete changed the key: %v %v", now, err)
	}
	otherKeys, err := admin.ListAll(ctx(t), &keystorev1.KeyFilter{OwnerKind: keystorev1.OwnerKind_OWNER_KIND_TENANT,
		OwnerId: proto.String(authzOtherTenant)})
	if err != nil || len(otherKeys) != 1 {
		t.Errorf("the other tenant holds %d keys after refused calls, want 1 (%v)", len(otherKeys), err)
	}

	// List shows only what the caller may see.
	seen, err := manager.ListAll(ctx(t), nil)
	if err != nil {
		t.Fatalf("a granted List: %v", err)
	}
	found := false
	for _, k := range seen {
		if k.GetOwner().GetId() != authzTenant || k.GetType() != keystorev1.KeyType_KEY_TYPE_L3 {
			t.Errorf("List showed a key outside the grant: %v", k)
		}
		found = found || k.GetId().GetName() == own.GetId().GetName()
	}
	if !found {
		t.Errorf("List did not show the caller's own key")
	}
}
