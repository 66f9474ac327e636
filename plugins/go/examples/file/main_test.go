package main

import (
	"context"
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
