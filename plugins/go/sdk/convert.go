package sdk

import (
	"time"

	pb "github.com/openkcm/keystore/plugins/go/sdk/pluginv1"
)

var keyTypes = map[pb.KeyType]KeyType{pb.KeyType_KEY_TYPE_L2: L2, pb.KeyType_KEY_TYPE_L3: L3, pb.KeyType_KEY_TYPE_L4: L4}
var statuses = map[pb.KeyStatus]KeyStatus{pb.KeyStatus_KEY_STATUS_ACTIVE: Active,
	pb.KeyStatus_KEY_STATUS_DEPRECATED: Deprecated, pb.KeyStatus_KEY_STATUS_RETIRED: Retired}
var ownerKinds = map[pb.OwnerKind]OwnerKind{pb.OwnerKind_OWNER_KIND_TENANT: Tenant,
	pb.OwnerKind_OWNER_KIND_SERVICE: Service, pb.OwnerKind_OWNER_KIND_NODE: Node}

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var pbKeyTypes, pbStatuses, pbOwnerKinds = invert(keyTypes), invert(statuses), invert(ownerKinds)

func keyIDFromPB(id *pb.KeyId, field string) (KeyID, error) {
	if id == nil || id.Name == "" || id.Version < 1 {
		return KeyID{}, Invalid(field, "is required")
	}
	return KeyID{Name: id.Name, Version: id.Version}, nil
}

func keyIDToPB(id KeyID) *pb.KeyId { return &pb.KeyId{Name: id.Name, Version: id.Version} }

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func metadataFromPB(m *pb.KeyMetadata) (Metadata, error) {
	if m == nil {
		return Metadata{}, Invalid("metadata", "is required")
	}
	id, err := keyIDFromPB(m.Id, "metadata.id")
	if err != nil {
		return Metadata{}, err
	}
	kind, ok := ownerKinds[m.GetOwner().GetKind()]
	if !ok {
		return Metadata{}, Invalid("owner.kind", "is required")
	}
	keyType, ok := keyTypes[m.Type]
	if !ok {
		return Metadata{}, Invalid("type", "is required")
	}
	status, ok := statuses[m.Status]
	if !ok {
		return Metadata{}, Invalid("status", "is required")
	}
	md := Metadata{ID: id, Type: keyType, Algorithm: m.Algorithm, KeySize: m.KeySize, Status: status,
		Owner: Owner{Kind: kind, ID: m.Owner.Id}, Region: m.GetRegion(), Tags: m.Tags,
		Created: fromMillis(m.CreatedMillis), Updated: fromMillis(m.UpdatedMillis), Revision: m.Revision,
		LifecycleMAC: m.GetLifecycleMac()}
	if md.Tags == nil {
		md.Tags = map[string]string{}
	}
	if m.ExpiryMillis != nil {
		expiry := fromMillis(*m.ExpiryMillis)
		md.Expiry = &expiry
	}
	if m.Parent != nil {
		parent, err := keyIDFromPB(m.Parent, "parent")
		if err != nil {
			return Metadata{}, err
		}
		md.Parent = &parent
	}
	return md, nil
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func metadataToPB(m Metadata) *pb.KeyMetadata {
	out := &pb.KeyMetadata{Id: keyIDToPB(m.ID), Type: pbKeyTypes[m.Type], Algorithm: m.Algorithm, KeySize: m.KeySize,
		Status: pbStatuses[m.Status], Owner: &pb.Owner{Kind: pbOwnerKinds[m.Owner.Kind], Id: m.Owner.ID},
		Region: optional(m.Region), Tags: m.Tags, CreatedMillis: millis(m.Created), UpdatedMillis: millis(m.Updated),
		Revision: m.Revision, LifecycleMac: optional(m.LifecycleMAC)}
	if m.Expiry != nil {
		ms := millis(*m.Expiry)
		out.ExpiryMillis = &ms
	}
	if m.Parent != nil {
		out.Parent = keyIDToPB(*m.Parent)
	}
	return out
}

func filterFromPB(f *pb.KeyFilter) (Filter, error) {
	if f == nil {
		return Filter{}, Invalid("filter", "is required")
	}
	if f.PageSize < 1 || f.PageSize > 1000 {
		return Filter{}, Invalid("filter.pageSize", "must be between 1 and 1000")
	}
	out := Filter{OwnerID: f.GetOwnerId(), Region: f.GetRegion(), Tags: f.Tags, PageSize: int(f.PageSize),
		Cursor: f.GetCursor()}
	if f.OwnerKind != nil {
		out.OwnerKind = ownerKinds[*f.OwnerKind]
	}
	if f.Type != nil {
		out.Type = keyTypes[*f.Type]
	}
	if f.Status != nil {
		out.Status = statuses[*f.Status]
	}
	return out, nil
}
