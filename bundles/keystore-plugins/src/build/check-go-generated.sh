#!/bin/sh
# Fails the build if plugins/go/sdk/pluginv1 is not what the pinned generators make of the proto:
# the checked-in Go code must be regenerated (README: "Writing a plugin in Go") when the contract changes.
set -eu
protoc="$1"; repo="$2"; work="$3"
mkdir -p "$work/bin" "$work/out"
GOBIN="$work/bin" go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
GOBIN="$work/bin" go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
PATH="$work/bin:$PATH" "$protoc" -I "$repo/proto" \
  --go_out="$work/out" --go_opt=module=github.com/openkcm/keystore/plugins/go/sdk \
  --go-grpc_out="$work/out" --go-grpc_opt=module=github.com/openkcm/keystore/plugins/go/sdk \
  openkcm/keystore/plugin/v1/keystore_plugin.proto
if ! diff -r "$work/out/pluginv1" "$repo/plugins/go/sdk/pluginv1" >/dev/null; then
  echo "plugins/go/sdk/pluginv1 is stale: regenerate it from proto/openkcm/keystore/plugin/v1 (see README)" >&2
  exit 1
fi
