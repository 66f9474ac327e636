// Package keystoretest starts the built keystore runtime distribution as a separate process on a
// private copy (its own home, a free loopback gRPC port), for the Go tests and the benchmarks.
package keystoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// DistributionVariable names the built distribution (runtime/target/openkcm-keystore); the Maven build sets it.
const DistributionVariable = "OPENKCM_DISTRIBUTION"

// WorkdirVariable names the folder the copies go in (default: the system's temporary folder).
const WorkdirVariable = "OPENKCM_WORKDIR"

// StartTimeout bounds a start, process launch to a serving gRPC port.
const StartTimeout = 120 * time.Second

// Runtime is one running copy of the distribution.
type Runtime struct {
	Home string
	// Address is the gRPC listener, host:port on loopback.
	Address string
	cmd     *exec.Cmd
	log     string
	exited  chan struct{}
}

// Options adjust a copy before it starts.
type Options struct {
	// Config holds files written into the copy's config/ folder before the start (name -> content).
	Config map[string]string
	// Env holds variables added to the runtime's environment.
	Env map[string]string
	// Before holds Gogo command lines run with bin/keystore -c, in order, before the daemon
	// starts (keystore:grpcclient, say, which needs a stopped home).
	Before []string
}

// Distribution is the built distribution the environment names, or an error saying how to build it.
func Distribution() (string, error) {
	dir := os.Getenv(DistributionVariable)
	if dir == "" {
		return "", fmt.Errorf("%s is not set: run the Go tests through Maven (mvn verify -pl clients/go -am), "+
			"or set it to runtime/target/openkcm-keystore", DistributionVariable)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "keystore")); err != nil {
		return "", fmt.Errorf("no built distribution at %s: %w", dir, err)
	}
	return filepath.Abs(dir)
}

// Start copies the distribution, sets a free gRPC port (and a free metrics port), starts bin/keystore --daemon and waits
// until its gRPC port accepts TLS connections and the admin certificate exists.
func Start(name string, options Options) (*Runtime, error) {
	dist, err := Distribution()
	if err != nil {
		return nil, err
	}
	workdir := os.Getenv(WorkdirVariable)
	if workdir != "" {
		if err := os.MkdirAll(workdir, 0o700); err != nil {
			return nil, err
		}
	}
	home, err := os.MkdirTemp(workdir, name+"-")
	if err != nil {
		return nil, err
	}
	if err := os.CopyFS(home, os.DirFS(dist)); err != nil {
		return nil, fmt.Errorf("copying %s: %w", dist, err)
	}
	// Never a cache, a KEK file or TLS files from an earlier run of the built folder.
	if err := os.RemoveAll(filepath.Join(home, "data")); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(home, "data"), 0o700); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for file, port := range map[string]int{GRPCConfigFile: port, MetricsConfigFile: 0} {
		shipped, err := os.ReadFile(filepath.Join(home, "config", file))
		if errors.Is(err, os.ErrNotExist) && file == MetricsConfigFile {
			continue // no metrics endpoint shipped: none to move
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		files[file] = withPort(string(shipped), port)
	}
	for file, content := range options.Config {
		files[file] = content
	}
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(home, "config", file), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}

	env := append(os.Environ(), "JAVA_OPTS=-Dfelix.fileinstall.poll=250 -Xshare:auto")
	for k, v := range options.Env {
		env = append(env, k+"="+v)
	}
	for _, line := range options.Before {
		cmd := exec.Command(filepath.Join(home, "bin", "keystore"), "-c", line)
		cmd.Dir, cmd.Env = home, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("bin/keystore -c %q: %v\n%s", line, err, out)
		}
	}

	r := &Runtime{Home: home, Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		log: filepath.Join(home, "runtime.log"), exited: make(chan struct{})}
	logFile, err := os.Create(r.log)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	r.cmd = exec.Command(filepath.Join(home, "bin", "keystore"), "--daemon")
	r.cmd.Dir = home
	r.cmd.Stdout = logFile
	r.cmd.Stderr = logFile
	r.cmd.Env = env
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	if err := r.awaitServing(); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// awaitServing polls until the TLS files exist and the port answers a handshake.
func (r *Runtime) awaitServing() error {
	deadline := time.Now().Add(StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			return fmt.Errorf("bin/keystore --daemon exited during start:\n%s", r.Log())
		default:
		}
		if last = r.probe(); last == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("gRPC not serving at %s within %s (%v):\n%s", r.Address, StartTimeout, last, r.Log())
}

func (r *Runtime) probe() error {
	admin := r.Admin()
	for _, file := range []string{admin.CA, admin.Cert, admin.Key} {
		if _, err := os.Stat(file); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return healthCheck(ctx, r.Address, admin)
}

// Log is what the runtime printed so far.
func (r *Runtime) Log() string {
	b, _ := os.ReadFile(r.log)
	return string(b)
}

// Stop sends SIGTERM, waits for the exit (killing it after 30 s) and removes the copy unless
// keep is asked for by OPENKCM_KEEP (for looking at a failed run).
func (r *Runtime) Stop() {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	}
	if os.Getenv("OPENKCM_KEEP") == "" {
		_ = os.RemoveAll(r.Home)
	}
}

// FreePort is a loopback port nothing listens on at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail is the last lines of a text, for failure messages.
func Tail(text string, lines int) string {
	b := []byte(text)
	for i, n := len(b)-1, 0; i >= 0; i-- {
		if b[i] == '\n' {
			n++
			if n > lines {
				return string(b[i+1:])
			}
		}
	}
	return string(bytes.TrimSpace(b))
}

var errNotServing = errors.New("not serving")
