package keystore_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openkcm/keystore/clients/go/keystore"
	"github.com/openkcm/keystore/clients/go/keystoretest"
	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

// One runtime for all tests of this package (a JVM start costs seconds on a small machine); each
// test uses key names and owners of its own.
var (
	runtime *keystoretest.Runtime
	admin   *keystore.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	runtime, err = keystoretest.Start("go-client", keystoretest.Options{Before: applications()})
	if err != nil {
		// Not a skip: these tests exist to run against the real runtime.
		fmt.Fprintln(os.Stderr, "cannot start the runtime:", err)
		return 1
	}
	defer runtime.Stop()
	admin, err = runtime.Dial(runtime.Admin())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer admin.Close()
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "runtime log (tail):\n"+keystoretest.Tail(runtime.Log(), 40))
	}
	return code
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var names atomic.Int64

// name is a key name no other test uses.
func name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixMilli()%100000, names.Add(1))
}

func tenant(id string) *keystorev1.Owner {
	return &keystorev1.Owner{Kind: keystorev1.OwnerKind_OWNER_KIND_TENANT, Id: id}
}

// l3 is an AES-256 L3 spec for the owner.
func l3(name string, owner *keystorev1.Owner) *keystorev1.KeySpec {
	return &keystorev1.KeySpec{Name: name, Type: keystorev1.KeyType_KEY_TYPE_L3, Algorithm: "AES", KeySize: 256, Owner: owner}
}

func mustGenerate(t *testing.T, spec *keystorev1.KeySpec) *keystorev1.KeyMetadata {
	t.Helper()
	md, err := admin.Generate(ctx(t), spec)
	if err != nil {
		t.Fatalf("generate %s: %v", spec.GetName(), err)
	}
	return md
}

// limitedClient is a client with the certificate keystore:grpcclient issued for the application.
func limitedClient(t *testing.T, application string) *keystore.Client {
	t.Helper()
	client, err := runtime.Dial(runtime.IssueClient(application))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}
