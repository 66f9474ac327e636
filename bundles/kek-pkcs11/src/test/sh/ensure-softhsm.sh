#!/bin/sh
# Makes sure SoftHSM2 (the PKCS#11 module and softhsm2-util) exists for the tests of kek-pkcs11.
# Present (Debian's softhsm2 package, or OPENKCM_SOFTHSM_MODULE): nothing to do.
# Absent and root on Debian/Ubuntu: installs Debian's softhsm2 package with apt-get.
set -e
module_present() {
  if [ -n "$OPENKCM_SOFTHSM_MODULE" ] && [ -f "$OPENKCM_SOFTHSM_MODULE" ]; then return 0; fi
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
    if [ -f "$m" ]; then return 0; fi
  done
  return 1
}
if module_present && command -v softhsm2-util >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "kek-pkcs11 tests: SoftHSM2 not found, installing Debian's softhsm2 package"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends softhsm2
  exit 0
fi
echo "kek-pkcs11 tests need SoftHSM2 (libsofthsm2.so and softhsm2-util): install the softhsm2 package," >&2
echo "or set OPENKCM_SOFTHSM_MODULE to the path of libsofthsm2.so" >&2
exit 1
