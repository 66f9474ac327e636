#!/bin/sh
# Generates the Go code of the service contract (../../proto/openkcm/keystore/v1; the plugin
# contract beside it is the plugin SDK's) with protoc and the pinned generators (the Maven build puts
# them in PROTOC, PROTOC_INCLUDE and GOBIN) and compares it with the checked-in keystorev1/ ("check", the default),
# or replaces keystorev1/ with it ("write", after a change to the proto).
set -eu
mode=${1:-check}
here=$(cd "$(dirname "$0")" && pwd -P)
proto=$here/../../proto
module=github.com/openkcm/keystore/clients/go
: "${PROTOC:?the protoc binary}" "${GOBIN:?the folder with protoc-gen-go and protoc-gen-go-grpc}"
: "${GENERATED:=$here/target/_generated}"

chmod +x "$PROTOC"
rm -rf "$GENERATED"
mkdir -p "$GENERATED"
files=$(cd "$proto" && find openkcm/keystore/v1 -name '*.proto' | sort)
# shellcheck disable=SC2086
PATH=$GOBIN:$PATH "$PROTOC" -I "$proto" -I "${PROTOC_INCLUDE:?protoc's include folder}" \
    --go_out="$GENERATED" --go_opt=module=$module \
    --go-grpc_out="$GENERATED" --go-grpc_opt=module=$module \
    $files

case $mode in
    write)
        rm -rf "$here/keystorev1"
        cp -R "$GENERATED/keystorev1" "$here/keystorev1"
        ;;
    check)
        if ! diff -r "$GENERATED/keystorev1" "$here/keystorev1"; then
            echo "clients/go/keystorev1 is not what the proto and the pinned generators produce:" \
                 "run mvn -pl clients/go generate-sources -Dproto.mode=write" >&2
            exit 1
        fi
        ;;
    *)
        echo "usage: generate.sh [check|write]" >&2
        exit 2
        ;;
esac
