// Package keystore is a thin client of the OpenKCM Keystore's gRPC API (package
// openkcm.keystore.v1): a connection authenticated by a client certificate (mTLS), the generated
// KeyService and AdminService clients, and errors mapped back to the kinds the keystore answers with.
package keystore

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

// Credentials names the PEM files of a caller: its certificate, its private key, and the CA that
// signed the keystore's server certificate.
type Credentials struct {
	Cert string
	Key  string
	CA   string
}

// TLSConfig reads the files into a TLS configuration that presents the client certificate and
// trusts only the given CA (TLS 1.2 at least).
func (c Credentials) TLSConfig() (*tls.Config, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.Cert != "" || c.Key != "" {
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("keystore: client certificate: %w", err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	pem, err := os.ReadFile(c.CA)
	if err != nil {
		return nil, fmt.Errorf("keystore: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("keystore: CA: no PEM certificate in %s", c.CA)
	}
	config.RootCAs = pool
	return config, nil
}

// Client is a connection to a keystore. Keys and Admin are the generated clients, for anything
// the methods of Client do not cover; their errors are raw status errors (see MapError).
type Client struct {
	conn  *grpc.ClientConn
	Keys  keystorev1.KeyServiceClient
	Admin keystorev1.AdminServiceClient
}

// Dial connects to target (host:port) with the credentials. The connection is made lazily, at
// the first call; Close releases it.
func Dial(target string, creds Credentials, options ...grpc.DialOption) (*Client, error) {
	config, err := creds.TLSConfig()
	if err != nil {
		return nil, err
	}
	return DialTLS(target, config, options...)
}

// DialTLS connects with a TLS configuration of the caller's (certificates from a vault, say).
func DialTLS(target string, config *tls.Config, options ...grpc.DialOption) (*Client, error) {
	options = append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(config))}, options...)
	conn, err := grpc.NewClient(target, options...)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	return &Client{conn: conn, Keys: keystorev1.NewKeyServiceClient(conn), Admin: keystorev1.NewAdminServiceClient(conn)}, nil
}

// Conn is the underlying connection (for the health service, say).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// MapError turns a status error of a call made with Keys or Admin into an *Error.
func MapError(err error) error { return mapError(err) }

// Zero overwrites material with zeros; call it (defer) once key material is no longer needed.
func Zero(material []byte) {
	clear(material)
}
