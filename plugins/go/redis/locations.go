package main

import (
	"sync"

	"github.com/openkcm/keystore/plugins/go/sdk"
)

// maxLocations bounds the remembered record keys: past it the memory starts over.
const maxLocations = 1 << 16

// locations remembers the record key of each id this process has read or stored, so that a read
// is one GET of the record instead of the retrieve script (a GET of the pointer, then of the record).
// It is safe for keys shared by many nodes: a record key names its owner and id, and an id's pointer
// is create-only, so a record found under a remembered key is the id's current record. When none is
// found there (the key was deleted, maybe stored again under another owner) the caller forgets the
// location and reads the pointer again.
type locations struct {
	mu sync.Mutex
	m  map[sdk.KeyID]string
}

func (l *locations) get(id sdk.KeyID) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	location, ok := l.m[id]
	return location, ok
}

func (l *locations) put(id sdk.KeyID, location string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= maxLocations {
		l.m = make(map[sdk.KeyID]string)
	}
	l.m[id] = location
}

func (l *locations) forget(id sdk.KeyID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
}

// reset forgets every location: after a new configuration (another server or prefix).
func (l *locations) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m = nil
}
