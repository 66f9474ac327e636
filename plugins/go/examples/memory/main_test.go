package main

import (
	"testing"

	"github.com/openkcm/keystore/plugins/go/sdk"
	"github.com/openkcm/keystore/plugins/go/sdk/sdktest"
)

func TestCoreCases(t *testing.T) {
	sdktest.Run(t, func(*testing.T) sdk.Backend { return &memory{keys: map[sdk.KeyID]sdk.StoredKey{}} })
}
