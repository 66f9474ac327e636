package main

import (
	"testing"

	"github.com/openkcm/keystore/plugins/go/sdk"
	"github.com/openkcm/keystore/plugins/go/sdk/sdktest"
)

// BenchmarkRetrieve is the plugin's own share of a retrieve (its script on Redis and the record's
// decoding, no gRPC), next to a direct GET of the same record on the same server. The whole path
// through the host is RedisPluginBenchmark (bench/). Run: go test -run - -bench . -benchtime 3s
func BenchmarkRetrieve(b *testing.B) {
	server := startRedis(b)
	backend := newBackend()
	if err := backend.Configure(ctx, map[string]string{"address": server.address(), "prefix": "bench:"}); err != nil {
		b.Fatal(err)
	}
	defer backend.close()
	id := sdk.KeyID{Name: "bench", Version: 1}
	md := sdktest.Metadata(id)
	if err := backend.StoreKey(ctx, id, make([]byte, 120), md); err != nil {
		b.Fatal(err)
	}
	client, keys, _, _ := backend.conn()
	record := keys.record(md.Owner, id)

	b.Run("plugin-retrieve", func(b *testing.B) {
		for b.Loop() {
			if _, err := backend.RetrieveKey(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct-get", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.Get(ctx, record).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
