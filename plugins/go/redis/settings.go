package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/openkcm/keystore/plugins/go/sdk"
)

// maxSecretBytes bounds a password file: a reference names a secret, never a large file.
const maxSecretBytes = 16 * 1024

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// settings is the plugin's configuration (the settings.* properties of its plugin configuration).
type settings struct {
	address  string
	username string
	password string
	db       int
	prefix   string
	timeout  time.Duration
	tls      *tls.Config
	ttl      bool          // let Redis drop a key at its expiry (plus grace)
	ttlGrace time.Duration // how long after its expiry a key stays readable
	poolSize int
}

var known = map[string]bool{"address": true, "username": true, "password.ref": true, "db": true, "prefix": true,
	"timeout": true, "tls": true, "tls.ca.file": true, "tls.server.name": true, "ttl.from.expiry": true,
	"ttl.grace": true, "pool.size": true}

// parseSettings checks every setting; an error names the setting that is wrong.
func parseSettings(in map[string]string, getenv func(string) (string, bool)) (settings, error) {
	for name := range in {
		if !known[name] {
			return settings{}, sdk.Invalid("settings."+name, "is not a setting of the Redis plugin")
		}
	}
	s := settings{address: in["address"], username: in["username"], prefix: "openkcm:keystore:",
		timeout: 2 * time.Second}
	if s.address == "" {
		return settings{}, sdk.Invalid("settings.address", "is required (host:port of the Redis server)")
	}
	if p, ok := in["prefix"]; ok {
		if p == "" || strings.ContainsAny(p, " \t\r\n") {
			return settings{}, sdk.Invalid("settings.prefix", "must be non-empty and without white space")
		}
		s.prefix = p
	}
	var err error
	if s.db, err = intSetting(in, "db", 0, 0, 1<<20); err != nil {
		return settings{}, err
	}
	if s.poolSize, err = intSetting(in, "pool.size", 0, 0, 10_000); err != nil {
		return settings{}, err
	}
	if s.timeout, err = durationSetting(in, "timeout", s.timeout, time.Millisecond); err != nil {
		return settings{}, err
	}
	if s.ttl, err = boolSetting(in, "ttl.from.expiry"); err != nil {
		return settings{}, err
	}
	if s.ttlGrace, err = durationSetting(in, "ttl.grace", 0, 0); err != nil {
		return settings{}, err
	}
	if ref, ok := in["password.ref"]; ok {
		if s.password, err = resolveSecret("settings.password.ref", ref, getenv); err != nil {
			return settings{}, err
		}
	}
	useTLS, err := boolSetting(in, "tls")
	if err != nil {
		return settings{}, err
	}
	if useTLS {
		if s.tls, err = tlsConfig(in); err != nil {
			return settings{}, err
		}
	} else if in["tls.ca.file"] != "" || in["tls.server.name"] != "" {
		return settings{}, sdk.Invalid("settings.tls", "must be true when tls.ca.file or tls.server.name is set")
	}
	return s, nil
}

func intSetting(in map[string]string, name string, fallback, min, max int) (int, error) {
	text, ok := in[name]
	if !ok {
		return fallback, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < min || n > max {
		return 0, sdk.Invalid("settings."+name, fmt.Sprintf("must be a whole number from %d to %d", min, max))
	}
	return n, nil
}

func durationSetting(in map[string]string, name string, fallback, min time.Duration) (time.Duration, error) {
	text, ok := in[name]
	if !ok {
		return fallback, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d < min {
		return 0, sdk.Invalid("settings."+name, fmt.Sprintf("must be a duration such as 500ms or 2s, at least %s", min))
	}
	return d, nil
}

func boolSetting(in map[string]string, name string) (bool, error) {
	switch in[name] {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, sdk.Invalid("settings."+name, "must be true or false")
}

// resolveSecret reads a secret by reference: env:NAME (a variable the host passes to the plugin,
// see plugin.env) or file:/absolute/path. A configuration never holds the secret itself.
func resolveSecret(setting, ref string, getenv func(string) (string, bool)) (string, error) {
	switch {
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		if !envName.MatchString(name) {
			return "", sdk.Invalid(setting, "env: must name an environment variable (letters, digits and '_')")
		}
		value, ok := getenv(name)
		if !ok || value == "" {
			return "", sdk.Invalid(setting, "environment variable "+name+" is not set (list it in plugin.env)")
		}
		return value, nil
	case strings.HasPrefix(ref, "file:"):
		path := strings.TrimPrefix(ref, "file:")
		if !filepath.IsAbs(path) {
			return "", sdk.Invalid(setting, "file: must name an absolute path")
		}
		data, err := readSmallRegularFile(path)
		if err != nil {
			return "", sdk.Invalid(setting, err.Error())
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	}
	return "", sdk.Invalid(setting, "must be a reference, 'env:NAME' or 'file:/absolute/path'")
}

func readSmallRegularFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if info.Size() > maxSecretBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxSecretBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	return data, nil
}

func tlsConfig(in map[string]string) (*tls.Config, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: in["tls.server.name"]}
	if file := in["tls.ca.file"]; file != "" {
		pem, err := readSmallRegularFile(file)
		if err != nil {
			return nil, sdk.Invalid("settings.tls.ca.file", err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, sdk.Invalid("settings.tls.ca.file", "holds no PEM certificate")
		}
		config.RootCAs = pool
	}
	return config, nil
}
