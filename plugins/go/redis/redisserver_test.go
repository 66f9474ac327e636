package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// redisServer is a real redis-server process on a free loopback port, in a directory of its own.
type redisServer struct {
	t      testing.TB
	bin    string
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	extra  []string
	tls    *serverTLS
}

// serverTLS is the PEM files of a server that accepts only TLS.
type serverTLS struct{ ca, cert, key string }

// lockedWriter collects the server's output for an error message.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// redisBinary is OPENKCM_REDIS_SERVER, or redis-server on the PATH (the build installs Debian's
// redis-server package when it is missing). Without one the tests fail: they never skip.
func redisBinary(t testing.TB) string {
	if bin := os.Getenv("OPENKCM_REDIS_SERVER"); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("the Redis plugin tests need redis-server (the Maven build installs it; or set OPENKCM_REDIS_SERVER): %v", err)
	}
	return bin
}

// startRedis starts a server that keeps every acknowledged write (append-only file, fsync always),
// so that a restart loses nothing; it is stopped when the test ends.
func startRedis(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	return launchRedis(t, &redisServer{t: t, bin: redisBinary(t), dir: t.TempDir(), extra: extra})
}

// startRedisTLS starts a server that speaks only TLS, with a certificate for 127.0.0.1 from a
// fresh CA; ca is that CA's PEM file.
func startRedisTLS(t testing.TB, extra ...string) (server *redisServer, ca string) {
	t.Helper()
	s := &redisServer{t: t, bin: redisBinary(t), dir: t.TempDir(), extra: extra, tls: writeTestCertificates(t)}
	return launchRedis(t, s), s.tls.ca
}

func launchRedis(t testing.TB, s *redisServer) *redisServer {
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("redis-server did not start: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) address() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) start() error {
	ports := []string{"--port", strconv.Itoa(s.port)}
	if s.tls != nil {
		ports = []string{"--port", "0", "--tls-port", strconv.Itoa(s.port), "--tls-cert-file", s.tls.cert,
			"--tls-key-file", s.tls.key, "--tls-ca-cert-file", s.tls.ca, "--tls-auth-clients", "no"}
	}
	args := append([]string{"--bind", "127.0.0.1", "--dir", s.dir, "--save", "", "--appendonly", "yes",
		"--appendfsync", "always", "--daemonize", "no", "--logfile", "", "--loglevel", "warning"}, ports...)
	args = append(args, s.extra...)
	cmd := exec.Command(s.bin, args...)
	var output strings.Builder
	cmd.Stdout = &lockedWriter{w: &output}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %s", cmd.Stdout.(*lockedWriter).String())
		default:
		}
		if conn, err := net.DialTimeout("tcp", s.address(), 100*time.Millisecond); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("not listening on %s within 10 s", s.address())
}

// kill ends the server at once (SIGKILL), as a crash would.
func (s *redisServer) kill() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// restart starts the server again on the same port and directory.
func (s *redisServer) restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redis-server did not restart: %v", err)
	}
}

func (s *redisServer) stop() { s.kill() }

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeTestCertificates makes a CA and a server certificate for 127.0.0.1 signed by it.
func writeTestCertificates(t testing.TB) *serverTLS {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTemplate := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serverTemplate := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTemplate, caTemplate, &serverKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	files := &serverTLS{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "server.pem"), key: filepath.Join(dir, "server-key.pem")}
	writePEM(t, files.ca, "CERTIFICATE", caDER)
	writePEM(t, files.cert, "CERTIFICATE", serverDER)
	writePEM(t, files.key, "EC PRIVATE KEY", keyDER)
	return files
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
