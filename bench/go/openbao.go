package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// openBao is a bao server -dev on free loopback ports, and an HTTP client with enough idle
// connections for the most callers measured.
type openBao struct {
	address string
	token   string
	cmd     *exec.Cmd
	http    *http.Client
}

func startOpenBao(binary, dir string) (*openBao, error) {
	port, err := freePortPair()
	if err != nil {
		return nil, err
	}
	token := fmt.Sprintf("bench-root-%d", os.Getpid())
	log, err := os.Create(filepath.Join(dir, "bao.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "server", "-dev", "-dev-root-token-id="+token,
		"-dev-listen-address=127.0.0.1:"+strconv.Itoa(port), "-dev-no-store-token")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(withoutVaultVariables(os.Environ()), "HOME="+dir)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &openBao{address: "http://127.0.0.1:" + strconv.Itoa(port), token: token, cmd: cmd,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 0}}}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := b.http.Get(b.address + "/v1/sys/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return b, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.stop()
	return nil, fmt.Errorf("bao server -dev not healthy within 60 s; see %s", log.Name())
}

func (b *openBao) stop() {
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
}

// write stores a KV v2 secret at mount/data/path.
func (b *openBao) write(path string, data map[string]string) error {
	body, _ := json.Marshal(map[string]any{"data": data})
	_, err := b.do(context.Background(), http.MethodPost, "/v1/secret/data/"+path, body)
	return err
}

// read is the measured call: a KV v2 read, its body read to the end and decoded, as a client would.
func (b *openBao) read(ctx context.Context, path string) error {
	body, err := b.do(ctx, http.MethodGet, "/v1/secret/data/"+path, nil)
	if err != nil {
		return err
	}
	var secret struct {
		Data struct {
			Data map[string]any `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &secret); err != nil {
		return err
	}
	if len(secret.Data.Data) == 0 {
		return fmt.Errorf("empty secret at %s", path)
	}
	return nil
}

// list is a KV v2 metadata LIST: the keys (sub-folders end in '/') under path.
func (b *openBao) list(path string) ([]string, error) {
	body, err := b.do(context.Background(), "LIST", "/v1/secret/metadata/"+path, nil)
	if err != nil {
		return nil, err
	}
	var listed struct {
		Data struct {
			Keys []string `json:"keys"`
		} `json:"data"`
	}
	return listed.Data.Keys, json.Unmarshal(body, &listed)
}

// find is the path of the first leaf under folder whose name contains part, searched depth-first.
func (b *openBao) find(folder, part string) (string, error) {
	keys, err := b.list(folder)
	if err != nil {
		return "", err
	}
	for _, key := range keys {
		if strings.HasSuffix(key, "/") {
			if found, err := b.find(folder+"/"+strings.TrimSuffix(key, "/"), part); err == nil {
				return found, nil
			}
		} else if strings.Contains(key, part) {
			return folder + "/" + key, nil
		}
	}
	return "", fmt.Errorf("no entry containing %q under %s", part, folder)
}

func (b *openBao) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.address+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", b.token)
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return data, nil
}

func withoutVaultVariables(env []string) []string {
	kept := env[:0:0]
	for _, v := range env {
		if !strings.HasPrefix(v, "BAO_") && !strings.HasPrefix(v, "VAULT_") {
			kept = append(kept, v)
		}
	}
	return kept
}

// freePortPair is a free loopback port whose successor is free too (bao uses it for clustering).
func freePortPair() (int, error) {
	for range 50 {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := first.Addr().(*net.TCPAddr).Port
		second, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1))
		first.Close()
		if err == nil {
			second.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free pair of loopback ports")
}
