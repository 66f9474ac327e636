package main

import (
	"context"
	"strings"
	"testing"

	"github.com/openkcm/keystore/plugins/go/sdk"
	"github.com/openkcm/keystore/plugins/go/sdk/sdktest"
)

func TestCoreCases(t *testing.T) {
	sdktest.Run(t, func(t *testing.T) sdk.Backend {
		f := &folder{}
		if err := f.Configure(context.Background(), map[string]string{"dir": t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		return f
	})
}

func TestARelativeFolderIsRefused(t *testing.T) {
	err := (&folder{}).Configure(context.Background(), map[string]string{"dir": "keys"})
	if err == nil || err.Error() != "invalid dir: must be an absolute path" {
		t.Fatalf("got %v", err)
	}
}

func TestTheLongestNameFitsInAFileName(t *testing.T) {
	f := &folder{}
	if err := f.Configure(context.Background(), map[string]string{"dir": t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	id := sdk.KeyID{Name: strings.Repeat("n", 128), Version: 999_999_999}
	md := sdktest.Metadata(id)
	if err := f.StoreKey(context.Background(), id, []byte{1}, md); err != nil {
		t.Fatal(err)
	}
	page, err := f.ListKeys(context.Background(), sdk.Filter{PageSize: 10})
	if err != nil || len(page.Keys) != 1 || page.Keys[0].ID != id {
		t.Fatalf("got %v, %v", page, err)
	}
}
