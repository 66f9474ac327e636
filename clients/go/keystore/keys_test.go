package keystore_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openkcm/keystore/clients/go/keystore"
	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

func TestGenerateStoresEverySpecFieldAndGetMetadataReturnsIt(t *testing.T) {
	expiry := time.Now().Add(48 * time.Hour).Truncate(time.Millisecond)
	region := "eu-central-1"
	spec := &keystorev1.KeySpec{Name: name("gen"), Type: keystorev1.KeyType_KEY_TYPE_L3, Algorithm: "HMAC-SHA256",
		KeySize: 256, Owner: tenant("gen-acme"), Region: &region, Expiry: timestamppb.New(expiry),
		Tags: map[string]string{"team": "payments", "env": "test"}}
	md := mustGenerate(t, spec)

	if md.GetId().GetName() != spec.Name || md.GetId().GetVersion() != 1 || md.GetType() != spec.Type ||
		md.GetAlgorithm() != "HMAC-SHA256" || md.GetKeySize() != 256 || !proto.Equal(md.GetOwner(), spec.Owner) ||
		md.GetRegion() != region || !md.GetExpiry().AsTime().Equal(expiry) || md.GetTags()["team"] != "payments" ||
		len(md.GetTags()) != 2 || md.GetStatus() != keystorev1.KeyStatus_KEY_STATUS_ACTIVE || md.GetRevision() != 1 ||
		md.GetCreated() == nil || md.GetUpdated() == nil {
		t.Fatalf("generated metadata does not match the spec:\n%v\n%v", spec, md)
	}
	read, err := admin.Metadata(ctx(t), md.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(read, md) {
		t.Errorf("GetMetadata differs from Generate's answer:\n%v\n%v", read, md)
	}
	material, err := admin.Material(ctx(t), md.GetId())
	if err != nil {
		t.Fatal(err)
	}
	defer keystore.Zero(material)
	if len(material) != 32 || bytes.Equal(material, make([]byte, 32)) {
		t.Errorf("material of a 256-bit key: %d bytes, all zero: %v", len(material), bytes.Equal(material, make([]byte, 32)))
	}
}

func TestImportedMaterialIsWhatGetMaterialReturns(t *testing.T) {
	material := bytes.Repeat([]byte{0x5a, 0xc3}, 16)
	md, err := admin.Import(ctx(t), l3(name("imp"), tenant("imp-acme")), material)
	if err != nil {
		t.Fatal(err)
	}
	read, err := admin.Material(ctx(t), md.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read, material) {
		t.Errorf("material read back differs")
	}
	keystore.Zero(read)
	if !bytes.Equal(read, make([]byte, len(read))) {
		t.Errorf("Zero left bytes")
	}
}

func TestGeneratingAnExistingNameIsErrExists(t *testing.T) {
	spec := l3(name("dup"), tenant("dup-acme"))
	first := mustGenerate(t, spec)
	_, err := admin.Generate(ctx(t), spec)
	if !errors.Is(err, keystore.ErrExists) {
		t.Fatalf("second generate: %v", err)
	}
	still, err := admin.Metadata(ctx(t), first.GetId())
	if err != nil || !proto.Equal(still, first) {
		t.Errorf("the first key changed: %v %v", still, err)
	}
}

func TestAnAbsentKeyIsErrNotFound(t *testing.T) {
	absent := keystore.ID(name("absent"), 1)
	if _, err := admin.Metadata(ctx(t), absent); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("GetMetadata: %v", err)
	}
	if _, err := admin.Material(ctx(t), absent); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("GetMaterial: %v", err)
	}
	if _, err := admin.Rotate(ctx(t), absent.GetName()); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Rotate: %v", err)
	}
	if _, err := admin.SetTags(ctx(t), absent, map[string]string{"a": "b"}, 1); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("SetTags: %v", err)
	}
}

func TestRotateMakesTheNextVersionAndDeprecatesThePrevious(t *testing.T) {
	first := mustGenerate(t, l3(name("rot"), tenant("rot-acme")))
	second, err := admin.Rotate(ctx(t), first.GetId().GetName())
	if err != nil {
		t.Fatal(err)
	}
	if second.GetId().GetVersion() != 2 || second.GetStatus() != keystorev1.KeyStatus_KEY_STATUS_ACTIVE ||
		!proto.Equal(second.GetOwner(), first.GetOwner()) || second.GetType() != first.GetType() {
		t.Errorf("rotated: %v", second)
	}
	old, err := admin.Metadata(ctx(t), first.GetId())
	if err != nil || old.GetStatus() != keystorev1.KeyStatus_KEY_STATUS_DEPRECATED {
		t.Errorf("version 1 after rotation: %v %v", old, err)
	}
	a, errA := admin.Material(ctx(t), first.GetId())
	b, errB := admin.Material(ctx(t), second.GetId())
	if errA != nil || errB != nil || bytes.Equal(a, b) {
		t.Errorf("both versions readable with different material: %v %v", errA, errB)
	}
	keystore.Zero(a)
	keystore.Zero(b)
}

func TestLifecycleChangesAreCompareAndSetOnTheRevision(t *testing.T) {
	md := mustGenerate(t, l3(name("cas"), tenant("cas-acme")))
	id := md.GetId()

	tagged, err := admin.SetTags(ctx(t), id, map[string]string{"owner": "team-a"}, md.GetRevision())
	if err != nil || tagged.GetRevision() != md.GetRevision()+1 || tagged.GetTags()["owner"] != "team-a" || len(tagged.GetTags()) != 1 {
		t.Fatalf("SetTags: %v %v", tagged, err)
	}
	expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	expiring, err := admin.SetExpiry(ctx(t), id, expiry, tagged.GetRevision())
	if err != nil || !expiring.GetExpiry().AsTime().Equal(expiry) || expiring.GetRevision() != tagged.GetRevision()+1 {
		t.Fatalf("SetExpiry: %v %v", expiring, err)
	}
	unexpiring, err := admin.SetExpiry(ctx(t), id, time.Time{}, expiring.GetRevision())
	if err != nil || unexpiring.GetExpiry() != nil {
		t.Fatalf("SetExpiry to none: %v %v", unexpiring, err)
	}

	// A stale revision: ABORTED, and nothing changes.
	for what, call := range map[string]func() error{
		"SetStatus": func() error {
			_, err := admin.SetStatus(ctx(t), id, keystorev1.KeyStatus_KEY_STATUS_DEPRECATED, md.GetRevision())
			return err
		},
		"SetTags": func() error {
			_, err := admin.SetTags(ctx(t), id, map[string]string{"x": "y"}, md.GetRevision())
			return err
		},
		"SetExpiry": func() error { _, err := admin.SetExpiry(ctx(t), id, expiry, md.GetRevision()); return err },
	} {
		if err := call(); !errors.Is(err, keystore.ErrConflict) {
			t.Errorf("%s with a stale revision: %v", what, err)
		}
	}
	now, err := admin.Metadata(ctx(t), id)
	if err != nil || !proto.Equal(now, unexpiring) {
		t.Errorf("a refused change changed the key:\n%v\n%v", now, unexpiring)
	}

	deprecated, err := admin.SetStatus(ctx(t), id, keystorev1.KeyStatus_KEY_STATUS_DEPRECATED, now.GetRevision())
	if err != nil || deprecated.GetStatus() != keystorev1.KeyStatus_KEY_STATUS_DEPRECATED {
		t.Fatalf("SetStatus DEPRECATED: %v %v", deprecated, err)
	}
	retired, err := admin.SetStatus(ctx(t), id, keystorev1.KeyStatus_KEY_STATUS_RETIRED, deprecated.GetRevision())
	if err != nil || retired.GetStatus() != keystorev1.KeyStatus_KEY_STATUS_RETIRED {
		t.Fatalf("SetStatus RETIRED: %v %v", retired, err)
	}
	// The lifecycle policy refuses a RETIRED key's material: FAILED_PRECONDITION.
	if material, err := admin.Material(ctx(t), id); !errors.Is(err, keystore.ErrRefused) || material != nil {
		t.Errorf("material of a RETIRED key: %v", err)
	}
}

func TestDeleteOneVersionOrAll(t *testing.T) {
	first := mustGenerate(t, l3(name("del"), tenant("del-acme")))
	keyName := first.GetId().GetName()
	for range 2 {
		if _, err := admin.Rotate(ctx(t), keyName); err != nil {
			t.Fatal(err)
		}
	}
	deleted, err := admin.Delete(ctx(t), keystore.ID(keyName, 2))
	if err != nil || deleted != 1 {
		t.Fatalf("delete version 2: %d %v", deleted, err)
	}
	if _, err := admin.Metadata(ctx(t), keystore.ID(keyName, 2)); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("version 2 after its deletion: %v", err)
	}
	if _, err := admin.Metadata(ctx(t), keystore.ID(keyName, 3)); err != nil {
		t.Errorf("version 3 after deleting version 2: %v", err)
	}
	deleted, err = admin.DeleteAll(ctx(t), keyName)
	if err != nil || deleted != 2 {
		t.Fatalf("delete all of the remaining two versions: %d %v", deleted, err)
	}
	deleted, err = admin.DeleteAll(ctx(t), keyName)
	if err != nil || deleted != 0 {
		t.Errorf("delete all again: %d %v", deleted, err)
	}
}

func TestListMatchesEveryFilterFieldAndPagesByCursor(t *testing.T) {
	owner := name("list-tenant")
	region := "eu-west-1"
	var ids []string
	for i := range 5 {
		spec := l3(name("list"), tenant(owner))
		spec.Tags = map[string]string{"batch": "list", "parity": []string{"even", "odd"}[i%2]}
		if i < 3 {
			spec.Region = &region
		}
		ids = append(ids, mustGenerate(t, spec).GetId().GetName())
	}
	mustGenerate(t, &keystorev1.KeySpec{Name: name("list-l4"), Type: keystorev1.KeyType_KEY_TYPE_L4,
		Algorithm: "AES", KeySize: 256, Owner: tenant(owner)})
	md, _ := admin.Metadata(ctx(t), keystore.ID(ids[4], 1))
	if _, err := admin.SetStatus(ctx(t), md.GetId(), keystorev1.KeyStatus_KEY_STATUS_DEPRECATED, md.GetRevision()); err != nil {
		t.Fatal(err)
	}

	base := func() *keystorev1.KeyFilter {
		return &keystorev1.KeyFilter{OwnerKind: keystorev1.OwnerKind_OWNER_KIND_TENANT, OwnerId: proto.String(owner)}
	}
	count := func(f *keystorev1.KeyFilter) int {
		t.Helper()
		keys, err := admin.ListAll(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.GetOwner().GetId() != owner {
				t.Errorf("listed a key of another owner: %v", k)
			}
		}
		return len(keys)
	}
	byType, byStatus, byRegion, byTags := base(), base(), base(), base()
	byType.Type = keystorev1.KeyType_KEY_TYPE_L4
	byStatus.Status = keystorev1.KeyStatus_KEY_STATUS_DEPRECATED
	byRegion.Region = proto.String(region)
	byTags.Tags = map[string]string{"batch": "list", "parity": "even"}
	for what, want := range map[string]struct {
		filter *keystorev1.KeyFilter
		n      int
	}{"owner": {base(), 6}, "type": {byType, 1}, "status": {byStatus, 1}, "region": {byRegion, 3}, "tags": {byTags, 3}} {
		if got := count(want.filter); got != want.n {
			t.Errorf("filter by %s: %d keys, want %d", what, got, want.n)
		}
	}

	paged := base()
	paged.PageSize = 2
	first, err := admin.List(ctx(t), paged)
	if err != nil || len(first.GetKeys()) != 2 || first.GetNextCursor() == "" {
		t.Fatalf("first page of 2: %v %v", first, err)
	}
	seen := map[string]bool{}
	for cursor, pages := "", 0; ; pages++ {
		paged.Cursor = cursor
		page, err := admin.List(ctx(t), paged)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page.GetKeys() {
			if seen[k.GetId().GetName()] {
				t.Errorf("%s on two pages", k.GetId().GetName())
			}
			seen[k.GetId().GetName()] = true
		}
		if cursor = page.GetNextCursor(); cursor == "" {
			if pages != 2 {
				t.Errorf("6 keys 2 a page: %d pages", pages+1)
			}
			break
		}
	}
	if len(seen) != 6 {
		t.Errorf("paging saw %d keys, want 6", len(seen))
	}
}
