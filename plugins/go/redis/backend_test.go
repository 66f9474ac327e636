package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openkcm/keystore/plugins/go/sdk"
	"github.com/openkcm/keystore/plugins/go/sdk/sdktest"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
)

var ctx = context.Background()

var prefixes atomic.Int64

// configured is a backend on server under a prefix no other test uses (an empty keyspace).
func configured(t *testing.T, server *redisServer, extra map[string]string) (*backend, string) {
	t.Helper()
	prefix := fmt.Sprintf("test%d:%s:", prefixes.Add(1), strings.ReplaceAll(t.Name(), "/", "_"))
	settings := map[string]string{"address": server.address(), "prefix": prefix}
	for k, v := range extra {
		settings[k] = v
	}
	b := newBackend()
	if err := b.Configure(ctx, settings); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.close)
	return b, prefix
}

func direct(t *testing.T, server *redisServer) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: server.address()})
	t.Cleanup(func() { c.Close() })
	return c
}

func codeOf(err error) codes.Code {
	var e *sdk.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return codes.Unknown
}

func TestCoreCases(t *testing.T) {
	server := startRedis(t)
	sdktest.Run(t, func(t *testing.T) sdk.Backend {
		b, _ := configured(t, server, nil)
		return b
	})
}

func TestRecordsLiveUnderTheirOwnersPrefix(t *testing.T) {
	server := startRedis(t)
	b, prefix := configured(t, server, nil)
	acme, other := sdk.KeyID{Name: "payments", Version: 2}, sdk.KeyID{Name: "payments", Version: 3}
	acmeMD := sdktest.Metadata(acme)
	otherMD := sdktest.Metadata(other)
	otherMD.Owner = sdk.Owner{Kind: sdk.Tenant, ID: "globex"}
	if err := b.StoreKey(ctx, acme, []byte{1}, acmeMD); err != nil {
		t.Fatal(err)
	}
	if err := b.StoreKey(ctx, other, []byte{2}, otherMD); err != nil {
		t.Fatal(err)
	}

	keys, err := direct(t, server).Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{prefix + "tenant:acme:payments:2": true, prefix + "tenant:globex:payments:3": true,
		prefix + "id:payments:2": true, prefix + "id:payments:3": true}
	if len(keys) != len(want) {
		t.Fatalf("Redis keys %v, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("unexpected Redis key %q among %v", k, keys)
		}
	}
	page, err := b.ListKeys(ctx, sdk.Filter{OwnerKind: sdk.Tenant, OwnerID: "globex", PageSize: 10})
	if err != nil || len(page.Keys) != 1 || page.Keys[0].ID != other {
		t.Fatalf("globex's keys: %+v, %v", page, err)
	}
}

func TestEdgeNodesOnOneServerAndPrefixShareKeys(t *testing.T) {
	server := startRedis(t)
	first, prefix := configured(t, server, nil)
	second := newBackend()
	if err := second.Configure(ctx, map[string]string{"address": server.address(), "prefix": prefix}); err != nil {
		t.Fatal(err)
	}
	defer second.close()
	elsewhere, _ := configured(t, server, nil)
	id := sdk.KeyID{Name: "shared", Version: 1}
	if err := first.StoreKey(ctx, id, []byte{7}, sdktest.Metadata(id)); err != nil {
		t.Fatal(err)
	}
	if got, err := second.RetrieveKey(ctx, id); err != nil || got.Sealed[0] != 7 {
		t.Fatalf("second node: %+v, %v", got, err)
	}
	if _, err := elsewhere.RetrieveKey(ctx, id); codeOf(err) != codes.NotFound {
		t.Fatalf("another prefix sees the key: %v", err)
	}
	// Both nodes racing to store the same id with different records: the first wins everywhere.
	if err := second.StoreKey(ctx, id, []byte{8}, sdktest.Metadata(id)); codeOf(err) != codes.AlreadyExists {
		t.Fatalf("second node overwrote: %v", err)
	}
}

// A node reads a remembered record key with one GET (see locations): after another node deletes
// the key and stores the same id again under another owner, or deletes it for good, the node reads
// what Redis holds, not what it remembers.
func TestARememberedLocationNeverServesAStaleOrDeletedKey(t *testing.T) {
	server := startRedis(t)
	reader, prefix := configured(t, server, nil)
	writer := newBackend()
	if err := writer.Configure(ctx, map[string]string{"address": server.address(), "prefix": prefix}); err != nil {
		t.Fatal(err)
	}
	defer writer.close()
	id := sdk.KeyID{Name: "moved", Version: 1}
	if err := writer.StoreKey(ctx, id, []byte{1}, sdktest.Metadata(id)); err != nil {
		t.Fatal(err)
	}
	if got, err := reader.RetrieveKey(ctx, id); err != nil || got.Sealed[0] != 1 {
		t.Fatalf("first read: %+v, %v", got, err)
	}
	if _, ok := reader.known.get(id); !ok {
		t.Fatal("the reader does not remember where the record is")
	}
	if deleted, err := writer.DeleteKey(ctx, id); err != nil || !deleted {
		t.Fatalf("delete: %v, %v", deleted, err)
	}
	globex := sdktest.Metadata(id)
	globex.Owner = sdk.Owner{Kind: sdk.Tenant, ID: "globex"}
	if err := writer.StoreKey(ctx, id, []byte{2}, globex); err != nil {
		t.Fatal(err)
	}
	if got, err := reader.RetrieveKey(ctx, id); err != nil || got.Sealed[0] != 2 || got.Metadata.Owner.ID != "globex" {
		t.Fatalf("read after the key moved to another owner: %+v, %v", got, err)
	}
	if deleted, err := writer.DeleteKey(ctx, id); err != nil || !deleted {
		t.Fatalf("second delete: %v, %v", deleted, err)
	}
	if _, err := reader.RetrieveKey(ctx, id); codeOf(err) != codes.NotFound {
		t.Fatalf("read after the delete: %v", err)
	}
}

func TestTTLFromExpiryLetsRedisDropExpiredKeys(t *testing.T) {
	server := startRedis(t)
	b, prefix := configured(t, server, map[string]string{"ttl.from.expiry": "true", "ttl.grace": "200ms"})
	c := direct(t, server)
	id := sdk.KeyID{Name: "short-lived", Version: 1}
	md := sdktest.Metadata(id)
	expiry := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond).UTC()
	md.Expiry = &expiry
	if err := b.StoreKey(ctx, id, []byte{1}, md); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{prefix + "id:short-lived:1", prefix + "tenant:acme:short-lived:1"} {
		at, err := c.PExpireTime(ctx, key).Result()
		if err != nil || at != time.Duration(expiry.Add(200*time.Millisecond).UnixMilli())*time.Millisecond {
			t.Fatalf("%s expires at %v (%v), want expiry + grace", key, at, err)
		}
	}
	if _, err := b.RetrieveKey(ctx, id); err != nil {
		t.Fatalf("before its expiry: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := b.RetrieveKey(ctx, id)
		if codeOf(err) == codes.NotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still readable 5 s after expiry + grace: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if page, err := b.ListKeys(ctx, sdk.Filter{PageSize: 10}); err != nil || len(page.Keys) != 0 {
		t.Fatalf("listing after the drop: %+v, %v", page, err)
	}
}

func TestUpdateMovesOrRemovesTheTTL(t *testing.T) {
	server := startRedis(t)
	b, prefix := configured(t, server, map[string]string{"ttl.from.expiry": "true"})
	c := direct(t, server)
	id := sdk.KeyID{Name: "renewed", Version: 1}
	md := sdktest.Metadata(id)
	expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	md.Expiry = &expiry
	if err := b.StoreKey(ctx, id, []byte{1}, md); err != nil {
		t.Fatal(err)
	}
	next := md
	next.Expiry, next.Revision = nil, 2
	if _, err := b.UpdateKeyMetadata(ctx, id, next); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{prefix + "id:renewed:1", prefix + "tenant:acme:renewed:1"} {
		if ttl, err := c.PTTL(ctx, key).Result(); err != nil || ttl >= 0 {
			t.Fatalf("%s still has a TTL %v after its expiry was removed (%v)", key, ttl, err)
		}
	}
	later := expiry.Add(time.Hour)
	next.Expiry, next.Revision = &later, 3
	if _, err := b.UpdateKeyMetadata(ctx, id, next); err != nil {
		t.Fatal(err)
	}
	if at, _ := c.PExpireTime(ctx, prefix+"tenant:acme:renewed:1").Result(); at != time.Duration(later.UnixMilli())*time.Millisecond {
		t.Fatalf("record expires at %v, want the new expiry %v", at, later)
	}
}

func TestWithoutTTLExpiredKeysStay(t *testing.T) {
	server := startRedis(t)
	b, prefix := configured(t, server, nil)
	id := sdk.KeyID{Name: "expired", Version: 1}
	md := sdktest.Metadata(id)
	past := time.UnixMilli(1_000_000_000_000).UTC()
	md.Expiry = &past
	if err := b.StoreKey(ctx, id, []byte{1}, md); err != nil {
		t.Fatal(err)
	}
	if ttl, err := direct(t, server).PTTL(ctx, prefix+"tenant:acme:expired:1").Result(); err != nil || ttl >= 0 {
		t.Fatalf("record has TTL %v (%v) with ttl.from.expiry off", ttl, err)
	}
	if got, err := b.RetrieveKey(ctx, id); err != nil || !got.Metadata.Expiry.Equal(past) {
		t.Fatalf("expired key: %+v, %v", got, err)
	}
}

func TestRedisDownIsUnavailableThenServiceResumes(t *testing.T) {
	server := startRedis(t)
	b, _ := configured(t, server, map[string]string{"timeout": "500ms"})
	before := sdk.KeyID{Name: "before", Version: 1}
	if err := b.StoreKey(ctx, before, []byte{1}, sdktest.Metadata(before)); err != nil {
		t.Fatal(err)
	}

	server.kill()
	during := sdk.KeyID{Name: "during", Version: 1}
	if _, err := b.RetrieveKey(ctx, before); codeOf(err) != codes.Unavailable {
		t.Fatalf("retrieve while Redis is down: %v", err)
	}
	if err := b.StoreKey(ctx, during, []byte{2}, sdktest.Metadata(during)); codeOf(err) != codes.Unavailable {
		t.Fatalf("store while Redis is down: %v", err)
	}
	if _, err := b.ListKeys(ctx, sdk.Filter{PageSize: 10}); codeOf(err) != codes.Unavailable {
		t.Fatalf("list while Redis is down: %v", err)
	}
	if err := b.Health(ctx); err == nil || !strings.Contains(err.Error(), server.address()) {
		t.Fatalf("health while Redis is down: %v", err)
	}

	server.restart()
	if err := b.Health(ctx); err != nil {
		t.Fatalf("health after the restart: %v", err)
	}
	if got, err := b.RetrieveKey(ctx, before); err != nil || got.Sealed[0] != 1 {
		t.Fatalf("acknowledged key after the restart: %+v, %v", got, err)
	}
	if err := b.StoreKey(ctx, during, []byte{2}, sdktest.Metadata(during)); err != nil {
		t.Fatalf("store after the restart: %v", err)
	}
}

func TestCorruptRecordIsAnIntegrityFailure(t *testing.T) {
	server := startRedis(t)
	b, prefix := configured(t, server, nil)
	id := sdk.KeyID{Name: "tampered", Version: 1}
	if err := b.StoreKey(ctx, id, []byte{1}, sdktest.Metadata(id)); err != nil {
		t.Fatal(err)
	}
	if err := direct(t, server).Set(ctx, prefix+"tenant:acme:tampered:1", "not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RetrieveKey(ctx, id); codeOf(err) != codes.DataLoss {
		t.Fatalf("corrupt record: %v", err)
	}
}

func TestPasswordIsReadByReference(t *testing.T) {
	server := startRedis(t, "--requirepass", "s3cret")
	secret := filepath.Join(t.TempDir(), "redis-password")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withFile, _ := configured(t, server, map[string]string{"password.ref": "file:" + secret})
	if err := withFile.Health(ctx); err != nil {
		t.Fatalf("password from a file: %v", err)
	}
	t.Setenv("OPENKCM_TEST_REDIS_PASSWORD", "s3cret")
	withEnv, _ := configured(t, server, map[string]string{"password.ref": "env:OPENKCM_TEST_REDIS_PASSWORD"})
	if err := withEnv.Health(ctx); err != nil {
		t.Fatalf("password from the environment: %v", err)
	}
	without, _ := configured(t, server, nil)
	if err := without.Health(ctx); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("no password: %v", err)
	}
}

func TestBadSettingsAreRefusedAndChangeNothing(t *testing.T) {
	server := startRedis(t)
	b, _ := configured(t, server, nil)
	id := sdk.KeyID{Name: "kept", Version: 1}
	if err := b.StoreKey(ctx, id, []byte{1}, sdktest.Metadata(id)); err != nil {
		t.Fatal(err)
	}
	directory := t.TempDir()
	cases := []struct {
		settings map[string]string
		message  string
	}{
		{map[string]string{}, "invalid settings.address: is required (host:port of the Redis server)"},
		{map[string]string{"address": "x:1", "db": "-1"}, "invalid settings.db: must be a whole number from 0 to 1048576"},
		{map[string]string{"address": "x:1", "timeout": "soon"}, "invalid settings.timeout: must be a duration such as 500ms or 2s, at least 1ms"},
		{map[string]string{"address": "x:1", "ttl.from.expiry": "yes"}, "invalid settings.ttl.from.expiry: must be true or false"},
		{map[string]string{"address": "x:1", "prefix": "a b"}, "invalid settings.prefix: must be non-empty and without white space"},
		{map[string]string{"address": "x:1", "password": "plain"}, "invalid settings.password: is not a setting of the Redis plugin"},
		{map[string]string{"address": "x:1", "password.ref": "s3cret"}, "invalid settings.password.ref: must be a reference, 'env:NAME' or 'file:/absolute/path'"},
		{map[string]string{"address": "x:1", "password.ref": "env:OPENKCM_SURELY_UNSET"}, "invalid settings.password.ref: environment variable OPENKCM_SURELY_UNSET is not set (list it in plugin.env)"},
		{map[string]string{"address": "x:1", "password.ref": "file:relative"}, "invalid settings.password.ref: file: must name an absolute path"},
		{map[string]string{"address": "x:1", "password.ref": "file:" + directory}, "invalid settings.password.ref: " + directory + " is not a regular file"},
		{map[string]string{"address": "x:1", "tls.ca.file": "/etc/hostname"}, "invalid settings.tls: must be true when tls.ca.file or tls.server.name is set"},
		{map[string]string{"address": "x:1", "tls": "true", "tls.ca.file": "/etc/hostname"}, "invalid settings.tls.ca.file: holds no PEM certificate"},
	}
	for _, c := range cases {
		err := b.Configure(ctx, c.settings)
		if codeOf(err) != codes.InvalidArgument || err.Error() != c.message {
			t.Errorf("%v: got %v, want %q", c.settings, err, c.message)
		}
	}
	if got, err := b.RetrieveKey(ctx, id); err != nil || got.Sealed[0] != 1 {
		t.Fatalf("the refused settings changed the backend: %+v, %v", got, err)
	}
}

func TestUnconfiguredBackendIsUnavailable(t *testing.T) {
	if _, err := newBackend().RetrieveKey(ctx, sdk.KeyID{Name: "k", Version: 1}); codeOf(err) != codes.Unavailable {
		t.Fatalf("got %v", err)
	}
}

func TestWithTTLAKeyPastItsExpiryIsRefusedAndAnUpdateToThePastDropsIt(t *testing.T) {
	server := startRedis(t)
	b, prefix := configured(t, server, map[string]string{"ttl.from.expiry": "true", "ttl.grace": "1h"})
	id := sdk.KeyID{Name: "stale", Version: 1}
	md := sdktest.Metadata(id)
	past := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond).UTC()
	md.Expiry = &past
	err := b.StoreKey(ctx, id, []byte{1}, md)
	if codeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "invalid metadata.expiry: has passed") {
		t.Fatalf("store past expiry + grace: %v", err)
	}
	if n, err := direct(t, server).Exists(ctx, prefix+"id:stale:1", prefix+"tenant:acme:stale:1").Result(); err != nil || n != 0 {
		t.Fatalf("the refused store left %d keys (%v)", n, err)
	}
	recent := time.Now().Add(-time.Minute).Truncate(time.Millisecond).UTC()
	md.Expiry = &recent // within the grace: stored, readable
	if err := b.StoreKey(ctx, id, []byte{1}, md); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RetrieveKey(ctx, id); err != nil {
		t.Fatalf("within the grace: %v", err)
	}
	next := md
	next.Expiry, next.Revision = &past, 2
	if _, err := b.UpdateKeyMetadata(ctx, id, next); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RetrieveKey(ctx, id); codeOf(err) != codes.NotFound {
		t.Fatalf("after an update to an expiry past the grace: %v", err)
	}
}
