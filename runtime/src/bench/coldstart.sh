#!/bin/sh
# Cold start of the OpenKCM Keystore runtime to its first served request, against a bare Felix
# with SCR and ConfigAdmin started the same way, and the resident memory of both at rest.
#
#   runtime/src/bench/coldstart.sh [distribution-folder] [runs]
#
# Both are started by the same launcher (bin/keystore, same JVM and JAVA_OPTS) from a fresh copy
# of the built distribution:
#   runtime   the distribution as built (config/ defaults, core, in-memory backend, ...)
#   bare      bundle/ reduced to SCR, its three OSGi API bundles, ConfigAdmin, and the Gogo
#             runtime that carries the request; no config/, no plugins.
# A run is one process: `bin/keystore <script>`; the script makes one service call (the runtime:
# KeystoreOperations.list(all); bare: ConfigurationAdmin.listConfigurations(null)) and then
# prints System.currentTimeMillis() from inside the JVM. Cold start = that time minus the time
# just before the process was launched. The median of the runs is reported, and the ratio.
# Resident memory at rest: `bin/keystore --daemon`, 5 s after it reports it started, VmRSS from
# /proc/<pid>/status.
#
# Linux only (/proc, GNU date). Build first: mvn -B -q install -DskipTests
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dist=${1:-$here/../../target/openkcm-keystore}
runs=${2:-7}
rest=${REST_SECONDS:-5}
[ -x "$dist/bin/keystore" ] || { echo "no distribution at $dist: build it first" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

fresh() { # name -> a copy without state
    rm -rf "${work:?}/$1"
    cp -R "$dist" "$work/$1"
    rm -rf "$work/$1/data/cache" "$work/$1/data/kek" "$work/$1/data/tmp"
    rm -f "$work/$1/plugins/"*.jar
}

fresh runtime
fresh bare
rm -f "$work/bare/config/"*.cfg "$work/bare/config/config.yaml"
for jar in "$work/bare/bundle/"*.jar; do
    case ${jar##*/} in
        org.apache.felix.scr-*|org.osgi.util.function-*|org.osgi.util.promise-*|org.osgi.service.component-*) ;;
        org.apache.felix.configadmin-*|org.apache.felix.gogo.runtime-*) ;;
        *) rm -f "$jar" ;;
    esac
done

# The service call, then the time, read in the JVM and printed as the script's last result
# (plain Gogo runtime: the bare framework has no gogo.shell, hence no echo).
clock='(((${.context} bundle 0) loadClass java.lang.System) getMethod currentTimeMillis) invoke null'
cat > "$work/runtime.gosh" <<EOF
ref = \${.context} getServiceReference org.openkcm.keystore.api.KeystoreOperations
all = ((\$ref bundle) loadClass org.openkcm.keystore.api.KeyFilter) getMethod all
page = (\${.context} getService \$ref) list (\$all invoke null)
$clock
EOF
cat > "$work/bare.gosh" <<EOF
ref = \${.context} getServiceReference org.osgi.service.cm.ConfigurationAdmin
configurations = (\${.context} getService \$ref) listConfigurations null
$clock
EOF

millis() { date +%s%3N; }

coldstart() { # name -> milliseconds from launch to the served request
    rm -rf "$work/$1/data/cache"
    launched=$(millis)
    served=$("$work/$1/bin/keystore" "$work/$1.gosh" | grep -E '^[0-9]{13}$' | tail -1)
    [ -n "$served" ] || { echo "$1: no request served" >&2; exit 1; }
    echo $((served - launched))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

rss() { # name -> VmRSS in kB of the daemon at rest
    out=$work/$1.daemon.out
    "$work/$1/bin/keystore" --daemon > "$out" 2>&1 &
    pid=$!
    i=0
    until grep -q 'started in' "$out"; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "$1 did not start" >&2; kill $pid; exit 1; }
        sleep 0.1
    done
    sleep "$rest"
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    kill -TERM $pid
    wait $pid 2>/dev/null || true
    echo "$kb"
}

coldstart runtime > /dev/null # warm the file system cache for both: cold JVM, warm disk
coldstart bare > /dev/null
: > "$work/runtime.ms"
: > "$work/bare.ms"
i=0
while [ $i -lt "$runs" ]; do # interleaved, so drift hits both alike
    coldstart runtime >> "$work/runtime.ms"
    coldstart bare >> "$work/bare.ms"
    i=$((i + 1))
done
runtime_ms=$(median < "$work/runtime.ms")
bare_ms=$(median < "$work/bare.ms")
runtime_rss=$(rss runtime)
bare_rss=$(rss bare)

echo "java:            $("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | head -1)"
echo "JAVA_OPTS:       ${JAVA_OPTS:-(none)}"
echo "runs:            $runs (median)"
echo "runtime:         ${runtime_ms} ms to first served request   [$(tr '\n' ' ' < "$work/runtime.ms")]"
echo "bare Felix+SCR+CM: ${bare_ms} ms to first served request   [$(tr '\n' ' ' < "$work/bare.ms")]"
echo "ratio:           $(awk -v r="$runtime_ms" -v b="$bare_ms" 'BEGIN { printf "%.2f", r / b }') (goal <= 2.00)"
echo "RSS at rest:     runtime ${runtime_rss} kB, bare ${bare_rss} kB (VmRSS, ${rest} s after start)"
