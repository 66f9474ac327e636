package keystore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/openkcm/keystore/clients/go/keystore"
	"github.com/openkcm/keystore/clients/go/keystoretest"
)

// Nothing is reachable without a valid client certificate, loopback included: each of these
// callers is UNAUTHENTICATED on a key RPC, an admin RPC, and the call changes nothing.
func TestCallersWithoutAValidCertificateAreUnauthenticated(t *testing.T) {
	dir := t.TempDir()
	other, err := keystoretest.NewCA(dir, "other")
	if err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey, err := other.Client(dir, "stranger", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	callers := map[string]keystore.Credentials{
		"no certificate":              {CA: runtime.Admin().CA},
		"a certificate of another CA": {Cert: otherCert, Key: otherKey, CA: runtime.Admin().CA},
	}
	if ours, err := runtime.CA(); err == nil {
		expiredCert, expiredKey, err := ours.Client(dir, "expired", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		callers["an expired certificate of the keystore's CA"] = keystore.Credentials{Cert: expiredCert, Key: expiredKey, CA: runtime.Admin().CA}
	} else {
		t.Errorf("the runtime's CA key, to sign an expired certificate with: %v", err)
	}

	for who, creds := range callers {
		client, err := runtime.Dial(creds)
		if err != nil {
			t.Fatal(err)
		}
		spec := l3(name("unauthenticated"), tenant("authn-acme"))
		if _, err := client.Generate(ctx(t), spec); !errors.Is(err, keystore.ErrUnauthenticated) {
			t.Errorf("%s: Generate: %v", who, err)
		}
		if _, err := client.Backends(ctx(t)); !errors.Is(err, keystore.ErrUnauthenticated) {
			t.Errorf("%s: ListBackends: %v", who, err)
		}
		if _, err := admin.Metadata(ctx(t), keystore.ID(spec.GetName(), 1)); !errors.Is(err, keystore.ErrNotFound) {
			t.Errorf("%s: the refused Generate stored a key: %v", who, err)
		}
		client.Close()
	}
}
