#!/bin/sh
# Builds the plugin executables the distribution ships in plugins/bin/: the Redis plugin
# (plugins/go/redis), static (CGO off) so it runs on any Linux of the same architecture, with
# -trimpath so the build folder does not end up in the binary. Beside each executable goes
# NAME.sha256 in sha256sum's format: the value an operator puts in plugin.sha256.
# They are built into OUT_DIR (the archive takes them from there) and copied to DIST_DIR.
#   build-plugin-executables.sh REPO_ROOT OUT_DIR DIST_DIR [GO]
set -e
repo=$1
out=$2
dist=$3
go=${4:-go}
mkdir -p "$out" "$dist"
for plugin in redis; do
  name=keystore-plugin-$plugin
  (cd "$repo/plugins/go/$plugin" && CGO_ENABLED=0 "$go" build -trimpath -o "$out/$name.tmp" .)
  mv -f "$out/$name.tmp" "$out/$name"
  chmod 0755 "$out/$name"
  (cd "$out" && sha256sum "$name" > "$name.sha256")
  cp -p "$out/$name" "$out/$name.sha256" "$dist/"
done
