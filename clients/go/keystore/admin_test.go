package keystore_test

import (
	"errors"
	"slices"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/openkcm/keystore/clients/go/keystore"
	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

func TestBackendsListTheShippedBackendsActive(t *testing.T) {
	backends, err := admin.Backends(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]keystorev1.BackendStatus_State{}
	for _, b := range backends {
		states[b.GetName()] = b.GetState()
	}
	for _, shipped := range []string{"file", "memory"} {
		if states[shipped] != keystorev1.BackendStatus_STATE_ACTIVE {
			t.Errorf("backend %s: %v (all: %v)", shipped, states[shipped], backends)
		}
	}
}

func TestRoutesIncludeTheShippedL4Route(t *testing.T) {
	routes, err := admin.Routes(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var memoryL4 bool
	for _, r := range routes {
		if r.GetTarget() == "memory" && slices.Contains(r.GetTiers(), "L4") && r.GetInForce() {
			memoryL4 = true
		}
	}
	if !memoryL4 {
		t.Errorf("no L4 route to memory in force: %v", routes)
	}
}

func TestLocateNamesTheBackendOfEachKeyInOrder(t *testing.T) {
	owner := tenant(name("locate-acme"))
	l3Key := mustGenerate(t, l3(name("locate-l3"), owner))
	l4Key := mustGenerate(t, &keystorev1.KeySpec{Name: name("locate-l4"), Type: keystorev1.KeyType_KEY_TYPE_L4,
		Algorithm: "AES", KeySize: 256, Owner: owner})
	absent := &keystorev1.KeyId{Name: name("locate-absent"), Version: 1}
	locations, err := admin.Locate(ctx(t), l4Key.GetId(), absent, l3Key.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if len(locations) != 3 {
		t.Fatalf("%d locations for 3 ids: %v", len(locations), locations)
	}
	for i, want := range []struct {
		id      *keystorev1.KeyId
		backend string
	}{{l4Key.GetId(), "memory"}, {absent, ""}, {l3Key.GetId(), "file"}} {
		got := locations[i]
		if got.GetId().GetName() != want.id.GetName() || got.GetBackend() != want.backend ||
			(got.Backend != nil) != (want.backend != "") {
			t.Errorf("location %d: %v, want %s in %q", i, got, want.id.GetName(), want.backend)
		}
	}
}

func TestCacheStatisticsCountAMaterialRead(t *testing.T) {
	md := mustGenerate(t, &keystorev1.KeySpec{Name: name("cache"), Type: keystorev1.KeyType_KEY_TYPE_L4,
		Algorithm: "AES", KeySize: 256, Owner: tenant("cache-acme")})
	l4Material := func() (hits, misses uint64) {
		stats, err := admin.CacheStatistics(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stats {
			if s.GetLayer() == keystorev1.CacheStatistics_LAYER_MATERIAL && s.GetTier() == keystorev1.KeyType_KEY_TYPE_L4 {
				return s.GetHits(), s.GetMisses()
			}
		}
		t.Fatalf("no L4 material layer in %v", stats)
		return 0, 0
	}
	hits, misses := l4Material()
	for range 3 {
		if _, err := admin.Material(ctx(t), md.GetId()); err != nil {
			t.Fatal(err)
		}
	}
	hitsAfter, missesAfter := l4Material()
	if hitsAfter+missesAfter < hits+misses+3 {
		t.Errorf("3 reads: hits %d->%d, misses %d->%d", hits, hitsAfter, misses, missesAfter)
	}
}

func TestRewrapReconcileAndMigrateReport(t *testing.T) {
	mustGenerate(t, l3(name("admin"), tenant("admin-acme")))
	report, err := admin.Rewrap(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if report.GetExamined() == 0 || report.GetKekId() == "" || report.GetExamined() !=
		report.GetRewrapped()+report.GetAlreadyCurrent()+report.GetVanished()+uint32(len(report.GetFailed())) {
		t.Errorf("rewrap report: %v", report)
	}
	reports, err := admin.Reconcile(ctx(t), false)
	if err != nil || len(reports) == 0 {
		t.Fatalf("reconcile: %v %v", reports, err)
	}
	if _, err := admin.ReconcileRemove(ctx(t), "admin:1"); !errors.Is(err, keystore.ErrInvalidInput) {
		t.Errorf("a key id is not a finding id: want invalid input, got %v", err)
	}
	var progress int
	final, err := admin.Migrate(ctx(t), &keystorev1.KeyFilter{OwnerKind: keystorev1.OwnerKind_OWNER_KIND_TENANT},
		func(*keystorev1.MigrationReport) { progress++ })
	if err != nil {
		t.Fatal(err)
	}
	if !final.GetFinished() || final.GetExamined() == 0 || final.GetMoved() != 0 {
		t.Errorf("migrate with routes unchanged moves nothing: %v (%d progress reports)", final, progress)
	}
}

func TestHealthIsServingOverallAndForTheShippedBackends(t *testing.T) {
	health := healthpb.NewHealthClient(admin.Conn())
	for service, want := range map[string]healthpb.HealthCheckResponse_ServingStatus{
		"":                                healthpb.HealthCheckResponse_SERVING,
		"openkcm.keystore.v1.KeyService":  healthpb.HealthCheckResponse_SERVING,
		"openkcm.keystore.backend.file":   healthpb.HealthCheckResponse_SERVING,
		"openkcm.keystore.backend.memory": healthpb.HealthCheckResponse_SERVING,
	} {
		resp, err := health.Check(ctx(t), &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != want {
			t.Errorf("health of %q: %v %v, want %v", service, resp, err, want)
		}
	}
}
