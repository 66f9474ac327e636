#!/bin/sh
# Makes sure a PostgreSQL server binary exists for the tests of keystore-postgres.
# Present (Debian's postgresql package, or OPENKCM_PG_BIN): nothing to do.
# Absent and root on Debian/Ubuntu: installs Debian's postgresql package with apt-get.
set -e
if [ -n "$OPENKCM_PG_BIN" ] && [ -x "$OPENKCM_PG_BIN/postgres" ]; then
  exit 0
fi
for bin in /usr/lib/postgresql/*/bin; do
  if [ -x "$bin/postgres" ] && [ -x "$bin/initdb" ]; then
    exit 0
  fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "keystore-postgres tests: PostgreSQL server not found, installing Debian's postgresql package"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
  exit 0
fi
echo "keystore-postgres tests need a PostgreSQL server (initdb, postgres): install the postgresql package," >&2
echo "or set OPENKCM_PG_BIN to the directory that holds them" >&2
exit 1
