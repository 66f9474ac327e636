package sdk

import (
	"context"
	"errors"
	"testing"
	"time"

	pb "github.com/openkcm/keystore/plugins/go/sdk/pluginv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func sample(name string, version int32) Metadata {
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	return Metadata{ID: KeyID{name, version}, Type: L4, Algorithm: "AES", KeySize: 256, Status: Active,
		Owner: Owner{Tenant, "acme"}, Tags: map[string]string{}, Created: t0, Updated: t0, Revision: 1}
}

func TestCheckUpdateAllowsOnlyTheNextRevisionOfLifecycleFields(t *testing.T) {
	stored := sample("k", 1)
	next := stored
	next.Status, next.Revision = Deprecated, 2
	if err := CheckUpdate(stored, next); err != nil {
		t.Fatalf("next revision refused: %v", err)
	}
	stale := next
	stale.Revision = 1
	var e *Error
	if err := CheckUpdate(stored, stale); !errors.As(err, &e) || e.Code != codes.Aborted {
		t.Fatalf("stale revision: got %v, want Aborted", err)
	}
	moved := next
	moved.Owner = Owner{Tenant, "other"}
	if err := CheckUpdate(stored, moved); !errors.As(err, &e) || e.Code != codes.InvalidArgument {
		t.Fatalf("changed owner: got %v, want InvalidArgument", err)
	}
}

func TestSelectPagePagesInOrderWithCursors(t *testing.T) {
	var all []Metadata
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		all = append(all, sample(n, 1))
	}
	var seen []string
	f := Filter{PageSize: 2}
	for pages := 0; ; pages++ {
		i := 0
		page, err := SelectPage(func() (Metadata, bool) {
			if i == len(all) {
				return Metadata{}, false
			}
			i++
			return all[i-1], true
		}, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Keys {
			seen = append(seen, m.ID.Name)
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if got := len(seen); got != 5 || seen[0] != "a" || seen[4] != "e" {
		t.Fatalf("paged %v", seen)
	}
}

func TestForeignCursorIsInvalidFilterCursor(t *testing.T) {
	_, err := SelectPage(func() (Metadata, bool) { return Metadata{}, false }, Filter{PageSize: 1, Cursor: "not-a-cursor"})
	st := status.Convert(err.(*Error).GRPCStatus().Err())
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v", st.Code())
	}
	detail := st.Details()[0].(*pb.KeystoreError)
	if detail.Field != "filter.cursor" {
		t.Fatalf("field %q", detail.Field)
	}
}

func TestMetadataSurvivesTheWire(t *testing.T) {
	m := sample("k", 3)
	expiry := m.Created.Add(time.Hour)
	parent := KeyID{"parent", 1}
	m.Expiry, m.Parent, m.Region, m.LifecycleMAC, m.Tags = &expiry, &parent, "eu", "bWFj", map[string]string{"a": "b"}
	back, err := metadataFromPB(metadataToPB(m))
	if err != nil || !back.Equal(m) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestUntypedErrorsAreUnavailable(t *testing.T) {
	if code := status.Code(toStatus(errors.New("disk gone"))); code != codes.Unavailable {
		t.Fatalf("code %v", code)
	}
	if code := status.Code(toStatus(context.DeadlineExceeded)); code != codes.DeadlineExceeded {
		t.Fatalf("code %v", code)
	}
}

func TestStoreRefusesMetadataOfAnotherID(t *testing.T) {
	s := &grpcServer{}
	other := metadataToPB(sample("there", 1))
	_, err := s.StoreKey(context.Background(), &pb.StoreKeyRequest{Id: &pb.KeyId{Name: "here", Version: 1}, Metadata: other})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("got %v", err)
	}
}
