package keystore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/openkcm/keystore/clients/go/keystore"
	"github.com/openkcm/keystore/clients/go/keystoretest"
)

// A runtime of its own, for failures that would disturb the other tests: an OpenBao backend at a
// port nothing listens on, routed for one tenant (a backend being down makes reads of keys it
// might hold UNAVAILABLE: fail closed), and its caches off, so a record changed on disk is read.
func TestBackendFailuresAreErrUnavailableAndErrIntegrity(t *testing.T) {
	port, err := keystoretest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	down, err := keystoretest.Start("go-client-down", keystoretest.Options{
		Config: map[string]string{
			"org.openkcm.keystore.openbao-down.cfg": fmt.Sprintf("address = \"http://127.0.0.1:%d\"\n"+
				"token.source = \"env:OPENKCM_SECRET_TEST_NO_TOKEN\"\nkeystore.name = \"down\"\nkeystore.tiers = [ \"L2\", \"L3\" ]\n", port),
			"org.openkcm.keystore.route-down.cfg": "tiers = [ \"L2\", \"L3\" ]\nownerKind = \"TENANT\"\n" +
				"ownerId = \"unreachable\"\ntarget = \"down\"\npriority = I\"2000\"\n",
			"org.openkcm.keystore.cache.cfg": "enabled = B\"false\"\n",
		},
		Env: map[string]string{"OPENKCM_SECRET_TEST_NO_TOKEN": "no-such-token"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Stop()
	client, err := down.Dial(down.Admin())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	spec := l3(name("down"), tenant("unreachable"))
	if _, err := client.Generate(ctx(t), spec); !errors.Is(err, keystore.ErrUnavailable) {
		t.Errorf("generate for an owner routed to an unreachable backend: %v", err)
	}
	health := healthpb.NewHealthClient(client.Conn())
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := health.Check(ctx(t), &healthpb.HealthCheckRequest{Service: "openkcm.keystore.backend.down"})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health of the unreachable backend within 30 s: %v %v", resp, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The file backend still serves the other owners; a record of it changed on disk is DATA_LOSS.
	md, err := client.Generate(ctx(t), l3(name("flipped"), tenant("reachable")))
	if err != nil {
		t.Fatalf("generate for an owner routed to the file backend: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(down.Home, "data", "keys", "*", "*", md.GetId().GetName(), "1.rec"))
	if len(files) != 1 {
		t.Fatalf("the key's record file in data/keys: %v", files)
	}
	record, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	record[len(record)/2] ^= 0x01
	if err := os.WriteFile(files[0], record, 0o600); err != nil {
		t.Fatal(err)
	}
	if material, err := client.Material(ctx(t), md.GetId()); !errors.Is(err, keystore.ErrIntegrity) || material != nil {
		t.Errorf("material of a record with a flipped bit: %v", err)
	}
}
