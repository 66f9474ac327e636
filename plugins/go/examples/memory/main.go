// Command memory is the smallest complete keystore plugin: sealed records in a map, guarded by
// one lock. It exists for tests and as the example plugin authors start from; its keys are gone
// when the process ends.
package main

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/openkcm/keystore/plugins/go/sdk"
)

type memory struct {
	mu   sync.RWMutex
	keys map[sdk.KeyID]sdk.StoredKey
}

func (m *memory) Configure(context.Context, map[string]string) error { return nil }

func (m *memory) StoreKey(_ context.Context, id sdk.KeyID, sealed []byte, md sdk.Metadata) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.keys[id]; ok {
		if bytes.Equal(old.Sealed, sealed) && old.Metadata.Equal(md) {
			return nil // an identical retry
		}
		return sdk.Exists(id)
	}
	m.keys[id] = sdk.StoredKey{Sealed: bytes.Clone(sealed), Metadata: md}
	return nil
}

func (m *memory) RetrieveKey(_ context.Context, id sdk.KeyID) (sdk.StoredKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if k, ok := m.keys[id]; ok {
		return k, nil
	}
	return sdk.StoredKey{}, sdk.NotFound(id)
}

func (m *memory) UpdateKeyMetadata(_ context.Context, id sdk.KeyID, md sdk.Metadata) (sdk.Metadata, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return sdk.Metadata{}, sdk.NotFound(id)
	}
	if err := sdk.CheckUpdate(k.Metadata, md); err != nil {
		return sdk.Metadata{}, err
	}
	m.keys[id] = sdk.StoredKey{Sealed: k.Sealed, Metadata: md}
	return md, nil
}

func (m *memory) RewrapKey(_ context.Context, id sdk.KeyID, sealed []byte, expectedRevision int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return sdk.NotFound(id)
	}
	if err := sdk.CheckRewrap(k.Metadata, expectedRevision); err != nil {
		return err
	}
	m.keys[id] = sdk.StoredKey{Sealed: bytes.Clone(sealed), Metadata: k.Metadata}
	return nil
}

func (m *memory) DeleteKey(_ context.Context, id sdk.KeyID) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.keys[id]
	delete(m.keys, id)
	return ok, nil
}

func (m *memory) ListKeys(_ context.Context, f sdk.Filter) (sdk.Page, error) {
	m.mu.RLock()
	all := make([]sdk.Metadata, 0, len(m.keys))
	for _, k := range m.keys {
		all = append(all, k.Metadata)
	}
	m.mu.RUnlock()
	slices.SortFunc(all, func(a, b sdk.Metadata) int { return a.ID.Compare(b.ID) })
	i := 0
	return sdk.SelectPage(func() (sdk.Metadata, bool) {
		if i == len(all) {
			return sdk.Metadata{}, false
		}
		i++
		return all[i-1], true
	}, f)
}

func (m *memory) Health(context.Context) error { return nil }

func main() {
	sdk.Serve(&memory{keys: map[sdk.KeyID]sdk.StoredKey{}})
}
