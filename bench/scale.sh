#!/usr/bin/env bash
# Token endpoint latency against store size: N synthetic clients (default 10 k, 1 M,
# 10 M) are bulk-loaded, then wrk asks for tokens for random ones, so nearly every
# request misses the caches and reads the store.
#
#   bench/scale.sh                                  # SQLite
#   STORE=postgres SIZES="10000 1000000" bench/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STORE="${STORE:-sqlite}"
SIZES="${SIZES:-10000 1000000 10000000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
source bench/lib.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -p dcr -p dcr-load --quiet
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-scale-$STORE.txt"
echo "store=$STORE duration=${DURATION}s connections=$CONNECTIONS" | tee "$out"

for size in $SIZES; do
    work="$(mktemp -d)"; chmod 755 "$work"
    PG_STOP=""
    store_env=()
    if [ "$STORE" = postgres ]; then
        start_postgres "$work/pg"
        store_env=(DCR_DATABASE_URL="$PG_URL")
    fi
    port=$(free_port)
    start_dcr "$work" "$port" "${store_env[@]}"
    python3 bench/prepare.py dcr "http://127.0.0.1:$port" "$work/seed" 1 bench-operator-key-0123456789abcdef
    read -r real secret <"$work/seed/creds.txt"
    kill "$DCR_PID"; wait "$DCR_PID" 2>/dev/null || true
    start=$(date +%s)
    load_synthetic_clients "$work" "$size" "$real"
    echo "  loaded $size clients in $(( $(date +%s) - start )) s"
    start_dcr "$work" "$port" "${store_env[@]}"
    result=$(WORKLOAD=token-synthetic TARGET=dcr WORK="$work/seed" SYNTHETIC="$size" SECRET="$secret" taskset -c 1 \
        wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua "http://127.0.0.1:$port" 2>&1 >/dev/null | grep '^RESULT')
    echo "$size clients: ${result#RESULT }" | tee -a "$out"
    kill "$DCR_PID"; wait "$DCR_PID" 2>/dev/null || true
    [ -z "$PG_STOP" ] || $PG_STOP >/dev/null 2>&1 || true
    rm -rf "$work"
done
echo "results: $out"
