package main

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/openkcm/keystore/plugins/go/sdk"
	"github.com/redis/go-redis/v9"
)

// maxSwapAttempts bounds the compare-and-set retries of one update or rewrap. A retry happens
// only when another writer changed the record between read and swap; the next read then sees
// its revision, so contention ends in a Conflict long before this bound.
const maxSwapAttempts = 16

// scanCount is the COUNT hint of each SCAN step of a listing.
const scanCount = 1000

// fetchBatch is how many records a listing reads per MGET.
const fetchBatch = 256

// backend keeps sealed key records in Redis, shared by every plugin (every edge node) that
// points at the same server and prefix.
type backend struct {
	mu       sync.RWMutex
	client   *redis.Client
	settings settings
	keys     keyspace
	// known are the record keys of ids read or stored here (see locations).
	known locations
}

func newBackend() *backend { return &backend{} }

func (b *backend) Configure(_ context.Context, in map[string]string) error {
	s, err := parseSettings(in, os.LookupEnv)
	if err != nil {
		return err
	}
	client := redis.NewClient(&redis.Options{
		Addr: s.address, Username: s.username, Password: s.password, DB: s.db, TLSConfig: s.tls,
		DialTimeout: s.timeout, ReadTimeout: s.timeout, WriteTimeout: s.timeout, PoolSize: s.poolSize,
		// One retry: after a Redis restart the first use of each pooled connection fails; its retry
		// dials anew. More would only stretch the time a call takes to report Redis down.
		MaxRetries: 1,
	})
	b.mu.Lock()
	old := b.client
	b.client, b.settings, b.keys = client, s, keyspace{prefix: s.prefix}
	b.known.reset()
	b.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	sdk.Logger.Info("Redis backend configured", "address", s.address, "db", s.db, "prefix", s.prefix,
		"tls", s.tls != nil, "ttl.from.expiry", s.ttl)
	return nil
}

// conn is the client and key names of the current configuration.
func (b *backend) conn() (*redis.Client, keyspace, settings, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.client == nil {
		return nil, keyspace{}, settings{}, sdk.Unavailable("the Redis plugin is not configured")
	}
	return b.client, b.keys, b.settings, nil
}

// unavailable reports a failure to talk to Redis: the call may succeed later.
func unavailable(s settings, err error) error {
	return sdk.Unavailable("Redis at %s: %v", s.address, err)
}

// expiryArg is the PXAT of a record: its expiry plus grace when ttl.from.expiry is on, else "0".
func expiryArg(s settings, m sdk.Metadata) string {
	if !s.ttl || m.Expiry == nil {
		return "0"
	}
	return strconv.FormatInt(m.Expiry.Add(s.ttlGrace).UnixMilli(), 10)
}

func (b *backend) StoreKey(ctx context.Context, id sdk.KeyID, sealed []byte, md sdk.Metadata) error {
	client, keys, s, err := b.conn()
	if err != nil {
		return err
	}
	if s.ttl && md.Expiry != nil && !md.Expiry.Add(s.ttlGrace).After(time.Now()) {
		// Redis would drop it at once: a store that succeeds must leave a readable key.
		return sdk.Invalid("metadata.expiry", "has passed (plus settings.ttl.grace); with settings.ttl.from.expiry Redis would drop the key at once")
	}
	result, err := storeScript.Run(ctx, client, []string{keys.pointer(id), keys.record(md.Owner, id)},
		encode(sealed, md), expiryArg(s, md)).Int()
	if err != nil {
		return unavailable(s, err)
	}
	if result < 0 {
		return sdk.Exists(id)
	}
	b.known.put(id, keys.record(md.Owner, id))
	return nil
}

func (b *backend) RetrieveKey(ctx context.Context, id sdk.KeyID) (sdk.StoredKey, error) {
	client, keys, s, err := b.conn()
	if err != nil {
		return sdk.StoredKey{}, err
	}
	if location, ok := b.known.get(id); ok {
		value, err := client.Get(ctx, location).Result()
		if err == nil {
			return decode(id, value)
		}
		if !errors.Is(err, redis.Nil) {
			return sdk.StoredKey{}, unavailable(s, err)
		}
		b.known.forget(id)
	}
	location, value, err := read(ctx, client, keys, id)
	if err != nil {
		return sdk.StoredKey{}, wrap(s, err)
	}
	b.known.put(id, location)
	return decode(id, value)
}

// read is the record key and record of id, or NotFound.
func read(ctx context.Context, client *redis.Client, keys keyspace, id sdk.KeyID) (string, string, error) {
	found, err := retrieveScript.Run(ctx, client, []string{keys.pointer(id)}).StringSlice()
	if errors.Is(err, redis.Nil) {
		return "", "", sdk.NotFound(id)
	}
	if err != nil {
		return "", "", err
	}
	return found[0], found[1], nil
}

// wrap keeps the contract's errors and reports any other as Redis being unavailable.
func wrap(s settings, err error) error {
	var typed *sdk.Error
	if errors.As(err, &typed) {
		return err
	}
	return unavailable(s, err)
}

func (b *backend) UpdateKeyMetadata(ctx context.Context, id sdk.KeyID, md sdk.Metadata) (sdk.Metadata, error) {
	err := b.swap(ctx, id, func(stored sdk.StoredKey) (sdk.StoredKey, error) {
		if err := sdk.CheckUpdate(stored.Metadata, md); err != nil {
			return sdk.StoredKey{}, err
		}
		return sdk.StoredKey{Sealed: stored.Sealed, Metadata: md}, nil
	})
	if err != nil {
		return sdk.Metadata{}, err
	}
	return md, nil
}

func (b *backend) RewrapKey(ctx context.Context, id sdk.KeyID, sealed []byte, expectedRevision int64) error {
	return b.swap(ctx, id, func(stored sdk.StoredKey) (sdk.StoredKey, error) {
		if err := sdk.CheckRewrap(stored.Metadata, expectedRevision); err != nil {
			return sdk.StoredKey{}, err
		}
		return sdk.StoredKey{Sealed: sealed, Metadata: stored.Metadata}, nil
	})
}

// swap replaces the record of id by change(record) with an optimistic compare-and-set: read,
// compute, and write only if the record is still the one read; otherwise read again.
func (b *backend) swap(ctx context.Context, id sdk.KeyID, change func(sdk.StoredKey) (sdk.StoredKey, error)) error {
	client, keys, s, err := b.conn()
	if err != nil {
		return err
	}
	for attempt := 0; attempt < maxSwapAttempts; attempt++ {
		location, value, err := read(ctx, client, keys, id)
		if err != nil {
			return wrap(s, err)
		}
		stored, err := decode(id, value)
		if err != nil {
			return err
		}
		next, err := change(stored)
		if err != nil {
			return err
		}
		swapped, err := swapScript.Run(ctx, client, []string{keys.pointer(id)}, location, value,
			encode(next.Sealed, next.Metadata), expiryArg(s, next.Metadata)).Int()
		if err != nil {
			return unavailable(s, err)
		}
		if swapped == 1 {
			return nil
		}
	}
	return sdk.Unavailable("key %s changed on every one of %d compare-and-set attempts; retry later", id, maxSwapAttempts)
}

func (b *backend) DeleteKey(ctx context.Context, id sdk.KeyID) (bool, error) {
	client, keys, s, err := b.conn()
	if err != nil {
		return false, err
	}
	b.known.forget(id)
	deleted, err := deleteScript.Run(ctx, client, []string{keys.pointer(id)}).Int()
	if err != nil {
		return false, unavailable(s, err)
	}
	return deleted == 1, nil
}

// ListKeys scans the record keys the filter's owner narrows to (SCAN returns every key present
// for the whole scan at least once), sorts their ids, and reads records in KeyID order after the
// cursor until the page is full. The cursor is a position in KeyID order, not a SCAN cursor, so
// paging under concurrent writes repeats and skips no key present throughout. Each page scans
// the owner's (or the whole prefix's) keys: meant for the edge's sets of keys, not millions.
func (b *backend) ListKeys(ctx context.Context, f sdk.Filter) (sdk.Page, error) {
	client, keys, s, err := b.conn()
	if err != nil {
		return sdk.Page{}, err
	}
	var after *sdk.KeyID
	if f.Cursor != "" {
		position, err := sdk.PositionOf(f.Cursor)
		if err != nil {
			return sdk.Page{}, err
		}
		after = &position
	}
	locations := map[sdk.KeyID]string{}
	iter := client.Scan(ctx, 0, keys.pattern(f), scanCount).Iterator()
	for iter.Next(ctx) {
		if id, ok := keys.parseRecord(iter.Val()); ok && (after == nil || id.Compare(*after) > 0) {
			locations[id] = iter.Val()
		}
	}
	if err := iter.Err(); err != nil {
		return sdk.Page{}, unavailable(s, err)
	}
	ids := make([]sdk.KeyID, 0, len(locations))
	for id := range locations {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, sdk.KeyID.Compare)

	var pending []sdk.Metadata
	var failure error
	next := func() (sdk.Metadata, bool) {
		for len(pending) == 0 && len(ids) > 0 && failure == nil {
			batch := ids[:min(fetchBatch, len(ids))]
			ids = ids[len(batch):]
			pending, failure = fetch(ctx, client, batch, locations)
			if failure != nil {
				failure = wrap(s, failure)
			}
		}
		if len(pending) == 0 {
			return sdk.Metadata{}, false
		}
		m := pending[0]
		pending = pending[1:]
		return m, true
	}
	page, err := sdk.SelectPage(next, f)
	if failure != nil {
		return sdk.Page{}, failure
	}
	return page, err
}

// fetch reads the records of ids (in order), leaving out those deleted since the scan.
func fetch(ctx context.Context, client *redis.Client, ids []sdk.KeyID, locations map[sdk.KeyID]string) ([]sdk.Metadata, error) {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = locations[id]
	}
	values, err := client.MGet(ctx, names...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Metadata, 0, len(ids))
	for i, v := range values {
		text, ok := v.(string)
		if !ok {
			continue
		}
		stored, err := decode(ids[i], text)
		if err != nil {
			return nil, err
		}
		out = append(out, stored.Metadata)
	}
	return out, nil
}

func (b *backend) Health(ctx context.Context) error {
	client, _, s, err := b.conn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		return unavailable(s, err)
	}
	return nil
}

// close releases the client (tests; the plugin process simply exits).
func (b *backend) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		_ = b.client.Close()
		b.client = nil
	}
}
