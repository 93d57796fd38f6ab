#!/usr/bin/env bash
# Soak: mixed token, verify and registration traffic at fixed rates for a long time
# (30 minutes by default) with nobody scraping /metrics; the server's RSS (total and
# anonymous) is sampled every 30 s. Goal: anonymous RSS flat after warm-up (growth
# under 10% from the sample at 10% of the run to the last), and SQLite's page cache
# bounded by its configuration (cache_size; the mmap'd database is file-backed, not
# anonymous, memory).
#
#   bench/soak.sh
#   SECONDS_TOTAL=300 TOKEN_RATE=500 VERIFY_RATE=500 REGISTER_RATE=20 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL="${SECONDS_TOTAL:-1800}"
TOKEN_RATE="${TOKEN_RATE:-300}"
VERIFY_RATE="${VERIFY_RATE:-300}"
REGISTER_RATE="${REGISTER_RATE:-10}"
SAMPLE="${SAMPLE:-30}"
CLIENTS="${CLIENTS:-1000}"
source bench/lib.sh
command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 1; }
cargo build --release --locked -p dcr -p dcr-load --quiet

work="$(mktemp -d)"
trap 'kill "${DCR_PID:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(free_port)
start_dcr "$work" "$port"
python3 bench/prepare.py dcr "http://127.0.0.1:$port" "$work/seed" "$CLIENTS" bench-operator-key-0123456789abcdef
kill "$DCR_PID"; wait "$DCR_PID" 2>/dev/null || true
# Throttling on, as deployed: each client is its own device behind a trusted proxy.
start_dcr "$work" "$port" DCR_THROTTLE__ENABLED=true DCR_THROTTLE__TRUSTED_PROXIES=127.0.0.1

mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-soak.json"
taskset -c 1 target/release/dcr-load --base "http://127.0.0.1:$port" --work "$work/seed" --pid "$DCR_PID" \
    --per-client-address soak --seconds "$SECONDS_TOTAL" --token-rate "$TOKEN_RATE" \
    --verify-rate "$VERIFY_RATE" --register-rate "$REGISTER_RATE" --sample-seconds "$SAMPLE" >"$out"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for kind, r in d["traffic"].items():
    print(f"{kind:9} {r['achieved_rps']:8.1f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}" + (f" {r.get('error_kinds')}" if r['errors'] else ""))
s = d["samples"]
print(f"anon RSS: {s[len(s)//10]['anon_kb']} kB after warm-up, {s[-1]['anon_kb']} kB at the end "
      f"({100*d['anon_growth_after_warmup_fraction']:+.1f}%); total RSS {s[0]['rss_kb']} -> {s[-1]['rss_kb']} kB")
print("goals:", d["goals"])
PY
echo "results: $out"
