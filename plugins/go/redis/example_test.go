package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openkcm/keystore/plugins/go/sdk"
	"github.com/openkcm/keystore/plugins/go/sdk/sdktest"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
)

// exampleSetting is one settings.<name> = "<value>" line of a FileInstall .cfg file.
var exampleSetting = regexp.MustCompile(`^settings\.([a-z.]+) = "(.*)"$`)

// exampleSettings are the plugin settings of config/examples/org.openkcm.keystore.plugin-redis-edge.cfg.
func exampleSettings(t *testing.T) map[string]string {
	path := filepath.Join("..", "..", "..", "config", "examples", "org.openkcm.keystore.plugin-redis-edge.cfg")
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	settings := map[string]string{}
	for scanner := bufio.NewScanner(file); scanner.Scan(); {
		if m := exampleSetting.FindStringSubmatch(scanner.Text()); m != nil {
			settings[m[1]] = m[2]
		}
	}
	if len(settings) == 0 {
		t.Fatalf("no settings.* line in %s", path)
	}
	return settings
}

// The example configuration's settings, with only the address and CA file of a test server,
// work against a real TLS-only, password-protected redis-server, TTL included.
func TestTheExampleConfigurationWorksOverTLS(t *testing.T) {
	server, ca := startRedisTLS(t, "--requirepass", "edge-secret")
	settings := exampleSettings(t)
	if settings["tls"] != "true" || settings["password.ref"] != "env:OPENKCM_SECRET_REDIS_PASSWORD" {
		t.Fatalf("the example changed: %v", settings)
	}
	settings["address"], settings["tls.ca.file"] = server.address(), ca
	t.Setenv("OPENKCM_SECRET_REDIS_PASSWORD", "edge-secret")
	b := newBackend()
	if err := b.Configure(ctx, settings); err != nil {
		t.Fatal(err)
	}
	defer b.close()

	id := sdk.KeyID{Name: "edge-key", Version: 1}
	md := sdktest.Metadata(id)
	expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	md.Expiry = &expiry
	if err := b.StoreKey(ctx, id, []byte{4, 2}, md); err != nil {
		t.Fatal(err)
	}
	if got, err := b.RetrieveKey(ctx, id); err != nil || got.Sealed[1] != 2 {
		t.Fatalf("over TLS: %+v, %v", got, err)
	}
	plain := redis.NewClient(&redis.Options{Addr: server.address(), Password: "edge-secret", TLSConfig: b.settings.tls})
	defer plain.Close()
	at, err := plain.PExpireTime(ctx, settings["prefix"]+"tenant:acme:edge-key:1").Result()
	if want := expiry.Add(24 * time.Hour).UnixMilli(); err != nil || at.Milliseconds() != want {
		t.Fatalf("the record expires at %v (%v), want its expiry plus the example's day of grace", at, err)
	}
}

// A client that does not trust the server's certificate authority is refused, and says why.
func TestTLSWithAnotherCAIsUnavailable(t *testing.T) {
	server, _ := startRedisTLS(t)
	other := writeTestCertificates(t)
	b := newBackend()
	if err := b.Configure(ctx, map[string]string{"address": server.address(), "tls": "true", "tls.ca.file": other.ca}); err != nil {
		t.Fatal(err)
	}
	defer b.close()
	_, err := b.RetrieveKey(ctx, sdk.KeyID{Name: "k", Version: 1})
	if codeOf(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: %v", err)
	}
}
