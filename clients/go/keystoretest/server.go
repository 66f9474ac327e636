package keystoretest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/openkcm/keystore/clients/go/keystore"
)

// GRPCConfigFile is the gRPC server's configuration in config/ (PID org.openkcm.keystore.grpc).
const GRPCConfigFile = "org.openkcm.keystore.grpc.cfg"

// MetricsConfigFile is the Prometheus endpoint's configuration: each copy takes a free port (0),
// as runtimes run side by side.
const MetricsConfigFile = "org.openkcm.keystore.metrics.cfg"

// withPort is a shipped configuration (shipped, its content; "" if none) with the given port, in
// the shipped file's format: FileInstall's typed values (port = I"7443") or plain ones.
func withPort(shipped string, port int) string {
	lines := strings.Split(strings.TrimRight(shipped, "\n"), "\n")
	replaced := false
	for i, line := range lines {
		key, value, found := strings.Cut(line, "=")
		if !found || strings.TrimSpace(key) != "port" {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(value), "I\"") {
			lines[i] = fmt.Sprintf("port = I\"%d\"", port)
		} else {
			lines[i] = fmt.Sprintf("port = %d", port)
		}
		replaced = true
	}
	if !replaced {
		typed := strings.Contains(shipped, "\"") || strings.TrimSpace(shipped) == ""
		if typed {
			lines = append(lines, fmt.Sprintf("port = I\"%d\"", port))
		} else {
			lines = append(lines, fmt.Sprintf("port = %d", port))
		}
	}
	return strings.TrimLeft(strings.Join(lines, "\n"), "\n") + "\n"
}

// TLSDir is where the runtime creates its CA, server and admin certificates on first start.
func (r *Runtime) TLSDir() string { return filepath.Join(r.Home, "data", "tls") }

// Admin is the admin client certificate the runtime created on first start.
func (r *Runtime) Admin() keystore.Credentials {
	dir := r.TLSDir()
	return keystore.Credentials{Cert: filepath.Join(dir, "admin.pem"), Key: filepath.Join(dir, "admin.key"),
		CA: filepath.Join(dir, "ca.pem")}
}

// healthCheck asks the overall gRPC health of the server with the credentials.
func healthCheck(ctx context.Context, address string, creds keystore.Credentials) error {
	config, err := creds.TLSConfig()
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(credentials.NewTLS(config)))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%w: %s", errNotServing, resp.GetStatus())
	}
	return nil
}

// Dial connects to the runtime with the credentials.
func (r *Runtime) Dial(creds keystore.Credentials, options ...grpc.DialOption) (*keystore.Client, error) {
	return keystore.Dial(r.Address, creds, options...)
}

// CA is the runtime's own CA (certificate and private key from data/tls/), to sign test
// certificates the server must refuse for other reasons (expired, say).
func (r *Runtime) CA() (*Issuer, error) {
	dir := r.TLSDir()
	return LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key"))
}

// IssueClient is the client certificate keystore:grpcclient issued for the application (see
// Options.Before): data/tls/clients/<name>.pem and .key, with the runtime's CA.
func (r *Runtime) IssueClient(name string) keystore.Credentials {
	dir := filepath.Join(r.TLSDir(), "clients")
	return keystore.Credentials{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+".key"), CA: r.Admin().CA}
}

// GrantCommand is the keystore:grpcclient command line that issues an application's certificate
// and writes its grant.
func GrantCommand(name, owners, tiers, classes string) string {
	return fmt.Sprintf("keystore:grpcclient --owners %s --tiers %s --classes %s %s", owners, tiers, classes, name)
}
