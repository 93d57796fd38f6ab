#!/usr/bin/env bash
# Side-by-side benchmark: dcr and node-oidc-provider 9 (memory adapter) on this
# machine, in one run, alternating workloads. The server is pinned to CPU 0 and wrk
# to CPU 1 (taskset). Prints one table with dcr/peer ratios and writes JSON under
# bench/results/.
#
#   bench/run.sh                 # SQLite (default)
#   STORE=postgres bench/run.sh  # a local PostgreSQL cluster (fsync on), also on CPU 0
#   DURATION=10 CONNECTIONS=32 CLIENTS=1000 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
CLIENTS="${CLIENTS:-1000}"
WORKLOADS="${WORKLOADS:-token register verify introspect}"
STORE="${STORE:-sqlite}"
source bench/lib.sh

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 1; }
[ -d bench/peer/node_modules/oidc-provider ] || (cd bench/peer && npm install --no-audit --no-fund --silent)
cargo build --release -p dcr --quiet

work="$(mktemp -d)"
chmod 755 "$work"  # PostgreSQL runs as its own user and must reach its directory
pids=()
PG_STOP=""
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; [ -z "$PG_STOP" ] || $PG_STOP >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

store_env=()
if [ "$STORE" = postgres ]; then
    start_postgres "$work/pg"
    store_env=(DCR_DATABASE_URL="$PG_URL")
fi
dcr_port=$(free_port)
start_dcr "$work" "$dcr_port" "${store_env[@]}"
dcr_pid=$DCR_PID; pids+=("$dcr_pid")
sleep 1
dcr_idle=$(rss_kb "$dcr_pid")

peer_port=$(free_port)
PORT="$peer_port" taskset -c 0 node bench/peer/server.mjs >"$work/peer.log" 2>&1 &
peer_pid=$!; pids+=("$peer_pid")
wait_for "http://127.0.0.1:$peer_port/.well-known/openid-configuration"
sleep 1
peer_idle=$(rss_kb "$peer_pid")

echo "==> preparing $CLIENTS clients on each"
python3 bench/prepare.py dcr "http://127.0.0.1:$dcr_port" "$work/dcr" "$CLIENTS" bench-operator-key-0123456789abcdef
python3 bench/prepare.py peer "http://127.0.0.1:$peer_port" "$work/peer" "$CLIENTS"

declare -A result
run() { # workload target port
    local out
    out=$(WORKLOAD="$1" TARGET="$2" WORK="$work/$2" taskset -c 1 \
        wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua "http://127.0.0.1:$3" 2>&1 >/dev/null | grep '^RESULT')
    result["$1,$2"]="$out"
    echo "    $2 $1: ${out#RESULT }"
}
for w in $WORKLOADS; do
    echo "==> $w"
    run "$w" dcr "$dcr_port"
    run "$w" peer "$peer_port"
done
dcr_load=$(rss_kb "$dcr_pid")
peer_load=$(rss_kb "$peer_pid")

field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2}'; }
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="bench/results/$stamp-$STORE.json"
{
    printf '{\n  "store": "%s", "duration_s": %s, "connections": %s, "clients": %s,\n' "$STORE" "$DURATION" "$CONNECTIONS" "$CLIENTS"
    printf '  "rss_kb": {"dcr_idle": %s, "dcr_load": %s, "peer_idle": %s, "peer_load": %s},\n' "$dcr_idle" "$dcr_load" "$peer_idle" "$peer_load"
    printf '  "workloads": {'
    sep=""
    for w in $WORKLOADS; do
        printf '%s\n    "%s": {' "$sep" "$w"
        s2=""
        for t in dcr peer; do
            r="${result[$w,$t]}"
            printf '%s"%s": {"rps": %s, "p50_ms": %s, "p99_ms": %s, "errors": %s, "non2xx": %s}' "$s2" "$t" \
                "$(field "$r" rps)" "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" errors)" "$(field "$r" non2xx)"
            s2=", "
        done
        printf '}'
        sep=","
    done
    printf '\n  }\n}\n'
} >"$json"

echo
printf '%-11s %12s %12s %8s %10s %10s %10s %10s %12s\n' workload "dcr req/s" "peer req/s" ratio "dcr p50" "dcr p99" "peer p50" "peer p99" "failed d/p"
for w in $WORKLOADS; do
    d="${result[$w,dcr]}"; p="${result[$w,peer]}"
    ratio=$(awk -v a="$(field "$d" rps)" -v b="$(field "$p" rps)" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
    # Failed = socket errors + non-2xx answers: a fast error is not throughput.
    fd=$(( $(field "$d" errors) + $(field "$d" non2xx) )); fp=$(( $(field "$p" errors) + $(field "$p" non2xx) ))
    printf '%-11s %12s %12s %8s %8sms %8sms %8sms %8sms %12s\n' "$w" "$(field "$d" rps)" "$(field "$p" rps)" "$ratio" \
        "$(field "$d" p50_ms)" "$(field "$d" p99_ms)" "$(field "$p" p50_ms)" "$(field "$p" p99_ms)" "$fd/$fp"
done
printf 'RSS: dcr %s MB idle, %s MB after load; peer %s MB idle, %s MB after load\n' \
    "$((dcr_idle / 1024))" "$((dcr_load / 1024))" "$((peer_idle / 1024))" "$((peer_load / 1024))"
echo "results: $json"
