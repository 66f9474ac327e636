// Command file is a persistent keystore plugin: one file per key version in a folder (the
// setting "dir"), written whole and renamed into place. Several processes may serve the same
// folder at once, as during the swap to a new executable: a new key appears with link(2), which
// fails if the name exists (create-only across processes), and compare-and-set changes hold an
// flock(2) on the folder's lock file.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/openkcm/keystore/plugins/go/sdk"
)

const suffix = ".key"

// version names the build (go build -ldflags "-X main.version=…"); the plugin logs it at start.
var version = "dev"

type folder struct {
	dir string
}

func (f *folder) Configure(_ context.Context, settings map[string]string) error {
	dir := settings["dir"]
	if dir == "" || !filepath.IsAbs(dir) {
		return sdk.Invalid("dir", "must be an absolute path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sdk.Unavailable("%v", err)
	}
	f.dir = dir
	return nil
}

// fileName encodes a key name for a file name: any byte is safe in base64url, which has no '.' or
// '/', and the longest name (128 bytes) stays well within the 255-byte limit of a file name.
var fileName = base64.RawURLEncoding

// path names a key's file: its encoded name and its version.
func (f *folder) path(id sdk.KeyID) string {
	return filepath.Join(f.dir, fileName.EncodeToString([]byte(id.Name))+"."+strconv.Itoa(int(id.Version))+suffix)
}

func (f *folder) read(id sdk.KeyID) (sdk.StoredKey, bool, error) {
	data, err := os.ReadFile(f.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return sdk.StoredKey{}, false, nil
	}
	if err != nil {
		return sdk.StoredKey{}, false, sdk.Unavailable("%v", err)
	}
	var k sdk.StoredKey
	if err := json.Unmarshal(data, &k); err != nil {
		return sdk.StoredKey{}, false, sdk.Integrity("key %s: unreadable file: %v", id, err)
	}
	return k, true, nil
}

// temp writes k to a new file in the folder, synced, and returns its name.
func (f *folder) temp(k sdk.StoredKey) (string, error) {
	data, err := json.Marshal(k)
	if err != nil {
		return "", sdk.Unavailable("%v", err)
	}
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return "", sdk.Unavailable("%v", err)
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", sdk.Unavailable("%v", err)
	}
	return tmp.Name(), nil
}

// locked runs change holding the folder's lock, which every process serving the folder shares.
func (f *folder) locked(change func() error) error {
	lock, err := os.OpenFile(filepath.Join(f.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return sdk.Unavailable("%v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return sdk.Unavailable("%v", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	return change()
}

func (f *folder) replace(id sdk.KeyID, k sdk.StoredKey) error {
	tmp, err := f.temp(k)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, f.path(id)); err != nil {
		os.Remove(tmp)
		return sdk.Unavailable("%v", err)
	}
	return nil
}

func (f *folder) StoreKey(_ context.Context, id sdk.KeyID, sealed []byte, md sdk.Metadata) error {
	tmp, err := f.temp(sdk.StoredKey{Sealed: sealed, Metadata: md})
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, f.path(id)); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrExist) {
		return sdk.Unavailable("%v", err)
	}
	old, ok, err := f.read(id)
	if err != nil {
		return err
	}
	if ok && bytes.Equal(old.Sealed, sealed) && old.Metadata.Equal(md) {
		return nil // an identical retry
	}
	return sdk.Exists(id)
}

func (f *folder) RetrieveKey(_ context.Context, id sdk.KeyID) (sdk.StoredKey, error) {
	k, ok, err := f.read(id)
	if err != nil {
		return sdk.StoredKey{}, err
	}
	if !ok {
		return sdk.StoredKey{}, sdk.NotFound(id)
	}
	return k, nil
}

func (f *folder) UpdateKeyMetadata(_ context.Context, id sdk.KeyID, md sdk.Metadata) (sdk.Metadata, error) {
	err := f.locked(func() error {
		k, ok, err := f.read(id)
		if err != nil {
			return err
		}
		if !ok {
			return sdk.NotFound(id)
		}
		if err := sdk.CheckUpdate(k.Metadata, md); err != nil {
			return err
		}
		return f.replace(id, sdk.StoredKey{Sealed: k.Sealed, Metadata: md})
	})
	if err != nil {
		return sdk.Metadata{}, err
	}
	return md, nil
}

func (f *folder) RewrapKey(_ context.Context, id sdk.KeyID, sealed []byte, expectedRevision int64) error {
	return f.locked(func() error {
		k, ok, err := f.read(id)
		if err != nil {
			return err
		}
		if !ok {
			return sdk.NotFound(id)
		}
		if err := sdk.CheckRewrap(k.Metadata, expectedRevision); err != nil {
			return err
		}
		return f.replace(id, sdk.StoredKey{Sealed: sealed, Metadata: k.Metadata})
	})
}

func (f *folder) DeleteKey(_ context.Context, id sdk.KeyID) (bool, error) {
	var deleted bool
	err := f.locked(func() error {
		err := os.Remove(f.path(id))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return sdk.Unavailable("%v", err)
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// ids lists the key versions in the folder, in KeyID order.
func (f *folder) ids() ([]sdk.KeyID, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, sdk.Unavailable("%v", err)
	}
	var ids []sdk.KeyID
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || strings.HasPrefix(base, ".") {
			continue
		}
		name, version, ok := strings.Cut(base, ".")
		raw, herr := fileName.DecodeString(name)
		v, verr := strconv.ParseInt(version, 10, 32)
		if !ok || herr != nil || verr != nil {
			continue // not a key file
		}
		ids = append(ids, sdk.KeyID{Name: string(raw), Version: int32(v)})
	}
	slices.SortFunc(ids, sdk.KeyID.Compare)
	return ids, nil
}

func (f *folder) ListKeys(_ context.Context, filter sdk.Filter) (sdk.Page, error) {
	ids, err := f.ids()
	if err != nil {
		return sdk.Page{}, err
	}
	var failed error
	i := 0
	page, err := sdk.SelectPage(func() (sdk.Metadata, bool) {
		for i < len(ids) {
			k, ok, err := f.read(ids[i])
			i++
			if err != nil {
				failed = err
				return sdk.Metadata{}, false
			}
			if ok { // deleted since the folder was read otherwise
				return k.Metadata, true
			}
		}
		return sdk.Metadata{}, false
	}, filter)
	if failed != nil {
		return sdk.Page{}, failed
	}
	return page, err
}

func (f *folder) Health(context.Context) error {
	if _, err := os.Stat(f.dir); err != nil {
		return sdk.Unavailable("%v", err)
	}
	return nil
}

func main() {
	sdk.Logger.Info("file plugin starting", "version", version)
	sdk.Serve(&folder{})
}
