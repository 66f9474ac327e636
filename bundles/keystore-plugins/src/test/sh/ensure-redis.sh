#!/bin/sh
# Makes sure a redis-server binary exists for the tests of the Redis plugin (plugins/go/redis).
# Present (on PATH, or OPENKCM_REDIS_SERVER): nothing to do; the tests start their own servers.
# Absent and root on Debian/Ubuntu: installs Debian's redis-server package with apt-get.
set -e
if [ -n "$OPENKCM_REDIS_SERVER" ] && [ -x "$OPENKCM_REDIS_SERVER" ]; then
  exit 0
fi
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Redis plugin tests: redis-server not found, installing Debian's redis-server package"
  apt-get update -q
  # The package's own service is not wanted (the tests start servers on free loopback ports):
  # policy-rc.d keeps the maintainer scripts from starting it where no init system would stop it.
  policy=/usr/sbin/policy-rc.d
  created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created=yes
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server || status=$?
  if [ -n "$created" ]; then rm -f "$policy"; fi
  exit $status
fi
echo "Redis plugin tests need redis-server: install the redis-server package," >&2
echo "or set OPENKCM_REDIS_SERVER to the path of the redis-server binary" >&2
exit 1
