#!/usr/bin/env bash
# Hostile-traffic benchmark: legitimate token traffic at a fixed rate (open loop,
# latency from the scheduled start), first alone, then with every hostile probe of
# bench/load/src/probes.rs running beside it for a bounded time. Reports legitimate
# p50/p99 and error rate in both runs, RSS before and after, and the size of
# /metrics. Goals: p99 within 2x of the quiet run, no legitimate errors, RSS growth
# under 10%.
#
# dcr runs as a release build pinned to CPU 0, with throttling on and 127.0.0.1 as a
# trusted proxy (each legitimate client sends its own X-Forwarded-For address, the
# IPv6 probe rotates addresses inside one /64), and small connection limits so the
# probes can reach them:
#
#   bench/hostile.sh
#   RATE=300 QUIET=20 HOSTILE=60 HELD=200 PROBE_RATE=200 bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE="${RATE:-200}"
QUIET="${QUIET:-20}"
HOSTILE="${HOSTILE:-30}"
HELD="${HELD:-100}"
PROBE_RATE="${PROBE_RATE:-100}"
CLIENTS="${CLIENTS:-1000}"
source bench/lib.sh
command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 1; }
cargo build --release --locked -p dcr -p dcr-load --quiet

work="$(mktemp -d)"
trap 'kill "${DCR_PID:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(free_port)
# Limits an attacker can reach with one machine: 1,000 connections, 2 s to send a
# request head or a body, 10 s idle.
limits=(
    DCR_THROTTLE__ENABLED=true DCR_THROTTLE__TRUSTED_PROXIES=127.0.0.1
    DCR_LIMITS__MAX_CONNECTIONS=1000 DCR_LIMITS__HEADER_READ_TIMEOUT_SECONDS=2
    DCR_LIMITS__BODY_READ_TIMEOUT_SECONDS=2 DCR_LIMITS__IDLE_TIMEOUT_SECONDS=10
)
# Seeding registers every client from 127.0.0.1: without throttling, then restart.
start_dcr "$work" "$port"
python3 bench/prepare.py dcr "http://127.0.0.1:$port" "$work/seed" "$CLIENTS" bench-operator-key-0123456789abcdef
kill "$DCR_PID"; wait "$DCR_PID" 2>/dev/null || true
start_dcr "$work" "$port" "${limits[@]}"

mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-hostile.json"
taskset -c 1 target/release/dcr-load --base "http://127.0.0.1:$port" --work "$work/seed" --pid "$DCR_PID" \
    --per-client-address hostile --rate "$RATE" --quiet-seconds "$QUIET" --hostile-seconds "$HOSTILE" \
    --held-connections "$HELD" --probe-rate "$PROBE_RATE" | tee "$out"
echo "results: $out"
