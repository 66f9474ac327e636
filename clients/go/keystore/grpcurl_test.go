package keystore_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/openkcm/keystore/clients/go/keystore"
)

// grpcurl, a client nobody here wrote (built from its Go module by the Maven build), against the
// running runtime: it finds the services through reflection, generates and reads a key with the
// admin certificate, and is refused without one.
func TestGrpcurlUsesReflectionAndTheAdminCertificate(t *testing.T) {
	binary := os.Getenv("OPENKCM_GRPCURL")
	if binary == "" {
		t.Fatal("OPENKCM_GRPCURL names no grpcurl binary: run through Maven (clients/go installs it into target/gobin)")
	}
	creds := runtime.Admin()
	withCert := []string{"-cacert", creds.CA, "-cert", creds.Cert, "-key", creds.Key}
	grpcurl := func(args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx(t), binary, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	services, err := grpcurl(append(withCert, runtime.Address, "list")...)
	if err != nil {
		t.Fatalf("grpcurl list: %v\n%s", err, services)
	}
	for _, service := range []string{"openkcm.keystore.v1.KeyService", "openkcm.keystore.v1.AdminService", "grpc.health.v1.Health"} {
		if !strings.Contains(services, service) {
			t.Errorf("reflection does not list %s:\n%s", service, services)
		}
	}

	keyName := name("grpcurl")
	generated, err := grpcurl(append(withCert, "-d", `{"spec":{"name":"`+keyName+`","type":"KEY_TYPE_L3","algorithm":"AES",`+
		`"keySize":256,"owner":{"kind":"OWNER_KIND_TENANT","id":"grpcurl-acme"}}}`,
		runtime.Address, "openkcm.keystore.v1.KeyService/Generate")...)
	if err != nil || !strings.Contains(generated, `"KEY_STATUS_ACTIVE"`) {
		t.Fatalf("grpcurl Generate: %v\n%s", err, generated)
	}
	read, err := grpcurl(append(withCert, "-d", `{"id":{"name":"`+keyName+`","version":1}}`,
		runtime.Address, "openkcm.keystore.v1.KeyService/GetMaterial")...)
	if err != nil {
		t.Fatalf("grpcurl GetMaterial: %v\n%s", err, read)
	}
	var answer struct {
		Material string `json:"material"`
	}
	if err := json.Unmarshal([]byte(read), &answer); err != nil {
		t.Fatalf("%v: %s", err, read)
	}
	material, _ := base64.StdEncoding.DecodeString(answer.Material)
	ours, err := admin.Material(ctx(t), keystore.ID(keyName, 1))
	if err != nil || len(material) != 32 || !bytes.Equal(material, ours) {
		t.Errorf("grpcurl's material (%d bytes) is not the Go client's: %v", len(material), err)
	}
	keystore.Zero(material)
	keystore.Zero(ours)

	for what, args := range map[string][]string{
		"list":        {"-cacert", creds.CA, runtime.Address, "list"},
		"GetMaterial": {"-cacert", creds.CA, "-d", `{"id":{"name":"` + keyName + `","version":1}}`, runtime.Address, "openkcm.keystore.v1.KeyService/GetMaterial"},
	} {
		refused, err := grpcurl(args...)
		if err == nil || strings.Contains(refused, answer.Material) {
			t.Errorf("grpcurl %s without a certificate was served:\n%s", what, refused)
		}
		if what == "GetMaterial" && !strings.Contains(refused, "Unauthenticated") {
			t.Errorf("grpcurl GetMaterial without a certificate: not Unauthenticated:\n%s", refused)
		}
	}
}
