// Package sdk is the Go side of the OpenKCM keystore plugin contract
// (proto/openkcm/keystore/plugin/v1). A plugin implements Backend and calls Serve from main; the
// keystore runtime starts the executable, talks to it over gRPC with mutual TLS, and routes keys to it.
package sdk

import "context"

// Backend is a storage backend for sealed key records: the Go mirror of the Java Keystore
// contract. Every method may be called from many goroutines at once. Failures are *Error values
// (NotFound, Exists, Conflict, Invalid, Unavailable, Refused, Integrity); any other error reaches
// the host as unavailable.
type Backend interface {
	// Configure receives the plugin's settings, once after each start and before any other call.
	Configure(ctx context.Context, settings map[string]string) error
	// StoreKey is create-only: a different record or metadata under an existing id is Exists; an
	// identical retry succeeds and changes nothing. The SDK has checked that md.ID equals id.
	StoreKey(ctx context.Context, id KeyID, sealed []byte, md Metadata) error
	// RetrieveKey returns the record and metadata exactly as stored or last updated, or NotFound.
	RetrieveKey(ctx context.Context, id KeyID) (StoredKey, error)
	// UpdateKeyMetadata replaces the lifecycle fields by compare-and-set (see CheckUpdate) and
	// returns the metadata now stored. The SDK has checked that md.ID equals id.
	UpdateKeyMetadata(ctx context.Context, id KeyID, md Metadata) (Metadata, error)
	// RewrapKey replaces the sealed record if the stored revision is expectedRevision (see CheckRewrap).
	RewrapKey(ctx context.Context, id KeyID, sealed []byte, expectedRevision int64) error
	// DeleteKey deletes permanently; false if the key was not stored.
	DeleteKey(ctx context.Context, id KeyID) (bool, error)
	// ListKeys returns metadata only, in KeyID order, one page at a time (see SelectPage).
	ListKeys(ctx context.Context, f Filter) (Page, error)
	// Health returns nil when the backend can serve, or the reason it cannot.
	Health(ctx context.Context) error
}
