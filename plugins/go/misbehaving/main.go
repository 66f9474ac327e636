// Command misbehaving is a keystore plugin that breaks the contract in one way, chosen by its
// first argument, for the host's tests. It speaks go-plugin's protocol by hand (handshake line,
// TLS, health service "plugin") so that it can get each detail wrong on purpose:
//
//	no-client-auth    serves TLS without demanding the client certificate AutoMTLS hands it
//	malformed-record  RetrieveKey answers a record whose metadata breaks the api's rules
//	wrong-key         RetrieveKey answers the record of another key
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	pb "github.com/openkcm/keystore/plugins/go/sdk/pluginv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type plugin struct {
	pb.UnimplementedKeystorePluginServer
	mode string
}

func (p *plugin) Configure(context.Context, *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	return &pb.ConfigureResponse{}, nil
}

func (p *plugin) Health(context.Context, *pb.HealthRequest) (*pb.HealthResponse, error) {
	return &pb.HealthResponse{Up: true}, nil
}

func (p *plugin) StoreKey(context.Context, *pb.StoreKeyRequest) (*pb.StoreKeyResponse, error) {
	return &pb.StoreKeyResponse{}, nil
}

func (p *plugin) RetrieveKey(_ context.Context, r *pb.RetrieveKeyRequest) (*pb.RetrieveKeyResponse, error) {
	md := &pb.KeyMetadata{Id: r.GetId(), Type: pb.KeyType_KEY_TYPE_L4, Algorithm: "AES", KeySize: 256,
		Status: pb.KeyStatus_KEY_STATUS_ACTIVE, Owner: &pb.Owner{Kind: pb.OwnerKind_OWNER_KIND_TENANT, Id: "acme"},
		CreatedMillis: 1_767_225_600_000, UpdatedMillis: 1_767_225_600_000, Revision: 1}
	switch p.mode {
	case "malformed-record":
		md.Algorithm, md.KeySize, md.Revision = "", -5, 0
	case "wrong-key":
		md.Id = &pb.KeyId{Name: "someone-else", Version: 7}
	}
	return &pb.RetrieveKeyResponse{Sealed: []byte{1, 2, 3}, Metadata: md}, nil
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: misbehaving no-client-auth|malformed-record|wrong-key")
	}
	mode := os.Args[1]
	certificate, der := serverCertificate()
	config := &tls.Config{Certificates: []tls.Certificate{certificate}, MinVersion: tls.VersionTLS12}
	if mode != "no-client-auth" {
		clients := x509.NewCertPool()
		if !clients.AppendCertsFromPEM([]byte(os.Getenv("PLUGIN_CLIENT_CERT"))) {
			fail("PLUGIN_CLIENT_CERT holds no certificate")
		}
		config.ClientAuth, config.ClientCAs = tls.RequireAndVerifyClientCert, clients
	}
	dir, err := os.MkdirTemp("", "misbehaving-plugin-")
	if err != nil {
		fail(err.Error())
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "plugin.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		fail(err.Error())
	}
	server := grpc.NewServer(grpc.Creds(credentials.NewTLS(config)))
	healthServer := health.NewServer()
	healthServer.SetServingStatus("plugin", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(server, healthServer)
	pb.RegisterKeystorePluginServer(server, &plugin{mode: mode})
	go exitWhenParentDies(os.Getppid())
	fmt.Printf("1|1|unix|%s|grpc|%s\n", socket, base64.RawStdEncoding.EncodeToString(der))
	if err := server.Serve(listener); err != nil {
		fail(err.Error())
	}
}

// serverCertificate is a fresh self-signed certificate for "localhost", as go-plugin makes one.
func serverCertificate() (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail(err.Error())
	}
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		fail(err.Error())
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}

func exitWhenParentDies(parent int) {
	for range time.Tick(200 * time.Millisecond) {
		if os.Getppid() != parent {
			os.Exit(3)
		}
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}
