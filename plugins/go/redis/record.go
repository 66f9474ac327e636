package main

import (
	"encoding/json"
	"time"

	"github.com/openkcm/keystore/plugins/go/sdk"
)

// record is how one key version is stored in Redis: one JSON string, so a retrieve is one GET.
// Times are epoch milliseconds (the contract's precision); the sealed record is base64.
// Encoding is deterministic (fields in order, tags sorted by Go's encoder), so an identical
// retry of a store produces identical bytes.
type record struct {
	Format       int               `json:"format"`
	Sealed       []byte            `json:"sealed"`
	Name         string            `json:"name"`
	Version      int32             `json:"version"`
	Type         sdk.KeyType       `json:"type"`
	Algorithm    string            `json:"algorithm"`
	KeySize      int32             `json:"keySize"`
	Status       sdk.KeyStatus     `json:"status"`
	ExpiryMillis *int64            `json:"expiry,omitempty"`
	OwnerKind    sdk.OwnerKind     `json:"ownerKind"`
	OwnerID      string            `json:"ownerId"`
	Region       string            `json:"region,omitempty"`
	Parent       *sdk.KeyID        `json:"parent,omitempty"`
	Tags         map[string]string `json:"tags"`
	Created      int64             `json:"created"`
	Updated      int64             `json:"updated"`
	Revision     int64             `json:"revision"`
	LifecycleMAC string            `json:"lifecycleMac,omitempty"`
}

const recordFormat = 1

func encode(sealed []byte, m sdk.Metadata) string {
	r := record{Format: recordFormat, Sealed: sealed, Name: m.ID.Name, Version: m.ID.Version, Type: m.Type,
		Algorithm: m.Algorithm, KeySize: m.KeySize, Status: m.Status, OwnerKind: m.Owner.Kind, OwnerID: m.Owner.ID,
		Region: m.Region, Parent: m.Parent, Tags: m.Tags, Created: m.Created.UnixMilli(),
		Updated: m.Updated.UnixMilli(), Revision: m.Revision, LifecycleMAC: m.LifecycleMAC}
	if r.Sealed == nil {
		r.Sealed = []byte{}
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	if m.Expiry != nil {
		ms := m.Expiry.UnixMilli()
		r.ExpiryMillis = &ms
	}
	data, err := json.Marshal(r)
	if err != nil {
		panic(err) // a record of strings, numbers and bytes always encodes
	}
	return string(data)
}

// decode reads a stored record; one that does not decode, or is not the record of id, is an
// integrity failure (never silently another key's data).
func decode(id sdk.KeyID, data string) (sdk.StoredKey, error) {
	var r record
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return sdk.StoredKey{}, sdk.Integrity("the Redis record of key %s does not decode: %v", id, err)
	}
	if r.Format != recordFormat {
		return sdk.StoredKey{}, sdk.Integrity("the Redis record of key %s has format %d, not %d", id, r.Format, recordFormat)
	}
	if r.Name != id.Name || r.Version != id.Version {
		return sdk.StoredKey{}, sdk.Integrity("the Redis record of key %s holds key %s:%d", id, r.Name, r.Version)
	}
	m := sdk.Metadata{ID: id, Type: r.Type, Algorithm: r.Algorithm, KeySize: r.KeySize, Status: r.Status,
		Owner: sdk.Owner{Kind: r.OwnerKind, ID: r.OwnerID}, Region: r.Region, Parent: r.Parent, Tags: r.Tags,
		Created: time.UnixMilli(r.Created).UTC(), Updated: time.UnixMilli(r.Updated).UTC(), Revision: r.Revision,
		LifecycleMAC: r.LifecycleMAC}
	if m.Tags == nil {
		m.Tags = map[string]string{}
	}
	if r.ExpiryMillis != nil {
		expiry := time.UnixMilli(*r.ExpiryMillis).UTC()
		m.Expiry = &expiry
	}
	if r.Sealed == nil {
		r.Sealed = []byte{}
	}
	return sdk.StoredKey{Sealed: r.Sealed, Metadata: m}, nil
}
