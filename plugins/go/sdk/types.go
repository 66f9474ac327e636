package sdk

import (
	"fmt"
	"maps"
	"time"
)

// KeyID is one version of a key. IDs are ordered by name (byte order), then version: the stable
// order of ListKeys.
type KeyID struct {
	Name    string
	Version int32
}

func (k KeyID) String() string { return fmt.Sprintf("%s:%d", k.Name, k.Version) }

// Compare is negative, zero or positive as k sorts before, with or after o.
func (k KeyID) Compare(o KeyID) int {
	switch {
	case k.Name < o.Name:
		return -1
	case k.Name > o.Name:
		return 1
	case k.Version < o.Version:
		return -1
	case k.Version > o.Version:
		return 1
	}
	return 0
}

// KeyType is the tier of a key: L2, L3 or L4.
type KeyType string

const (
	L2 KeyType = "L2"
	L3 KeyType = "L3"
	L4 KeyType = "L4"
)

// KeyStatus is the lifecycle status of a key version.
type KeyStatus string

const (
	Active     KeyStatus = "ACTIVE"
	Deprecated KeyStatus = "DEPRECATED"
	Retired    KeyStatus = "RETIRED"
)

// OwnerKind says what kind of party owns a key.
type OwnerKind string

const (
	Tenant  OwnerKind = "TENANT"
	Service OwnerKind = "SERVICE"
	Node    OwnerKind = "NODE"
)

// Owner is the tenant, service or node that owns a key.
type Owner struct {
	Kind OwnerKind
	ID   string
}

// Metadata is the standard metadata of one key version. A backend persists it and returns it
// unchanged. Times carry millisecond precision. Region and LifecycleMAC are empty when absent,
// Expiry and Parent nil.
type Metadata struct {
	ID           KeyID
	Type         KeyType
	Algorithm    string
	KeySize      int32
	Status       KeyStatus
	Expiry       *time.Time
	Owner        Owner
	Region       string
	Parent       *KeyID
	Tags         map[string]string
	Created      time.Time
	Updated      time.Time
	Revision     int64
	LifecycleMAC string
}

// SameImmutableFields reports whether every field fixed at store time is equal in both.
func (m Metadata) SameImmutableFields(o Metadata) bool {
	return m.ID == o.ID && m.Type == o.Type && m.Algorithm == o.Algorithm && m.KeySize == o.KeySize &&
		m.Owner == o.Owner && m.Region == o.Region && equalPtr(m.Parent, o.Parent) && m.Created.Equal(o.Created)
}

// Equal reports whether every field is equal in both.
func (m Metadata) Equal(o Metadata) bool {
	return m.SameImmutableFields(o) && m.Status == o.Status && equalTime(m.Expiry, o.Expiry) &&
		maps.Equal(m.Tags, o.Tags) && m.Updated.Equal(o.Updated) && m.Revision == o.Revision &&
		m.LifecycleMAC == o.LifecycleMAC
}

// StoredKey is what a backend holds for one key version.
type StoredKey struct {
	Sealed   []byte
	Metadata Metadata
}

// Filter selects the keys ListKeys returns and which page of them. Empty fields match everything.
type Filter struct {
	OwnerKind OwnerKind
	OwnerID   string
	Type      KeyType
	Status    KeyStatus
	Region    string
	Tags      map[string]string
	// PageSize is 1 to 1000.
	PageSize int
	// Cursor is empty for the first page, otherwise a NextCursor this backend returned.
	Cursor string
}

// Matches reports whether m meets every criterion of f (paging aside).
func (f Filter) Matches(m Metadata) bool {
	if (f.OwnerKind != "" && f.OwnerKind != m.Owner.Kind) || (f.OwnerID != "" && f.OwnerID != m.Owner.ID) ||
		(f.Type != "" && f.Type != m.Type) || (f.Status != "" && f.Status != m.Status) ||
		(f.Region != "" && f.Region != m.Region) {
		return false
	}
	for k, v := range f.Tags {
		if got, ok := m.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Page is one page of ListKeys: metadata in KeyID order and the cursor of the next page ("" on the last).
type Page struct {
	Keys       []Metadata
	NextCursor string
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
