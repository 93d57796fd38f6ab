#!/usr/bin/env bash
# A realistic mix on a big store: CLIENTS synthetic clients (default 1 M) bulk-loaded,
# then, at fixed rates and at the same time, tokens for clients chosen by a Zipf-like
# popularity (client ⌊N^u⌋, u uniform: a few busy installs, a long tail of rare ones),
# registrations of new installs (1% of the token rate) and forward-auth verifications
# from a resource server. Prints throughput, p50/p99 per endpoint and the server's RSS.
# Server on CPU 0 (PostgreSQL beside it), the load generator on CPU 1; throttling on,
# each request its own device behind a trusted proxy, as deployed.
#
#   bench/mix.sh                                   # SQLite
#   STORE=postgres bench/mix.sh
#   CLIENTS=100000 SECONDS_TOTAL=30 TOKEN_RATE=4000 bench/mix.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STORE="${STORE:-sqlite}"
CLIENTS="${CLIENTS:-1000000}"
SECONDS_TOTAL="${SECONDS_TOTAL:-60}"
TOKEN_RATE="${TOKEN_RATE:-2000}"
VERIFY_RATE="${VERIFY_RATE:-2000}"
REGISTER_RATE="${REGISTER_RATE:-$((TOKEN_RATE / 100))}"
source bench/lib.sh
command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 1; }
[ "$STORE" = postgres ] || command -v sqlite3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --locked -p dcr -p dcr-load --quiet

work="$(mktemp -d)"; chmod 755 "$work"
PG_STOP=""
store_env=()
trap 'kill "${DCR_PID:-}" 2>/dev/null || true; [ -z "$PG_STOP" ] || $PG_STOP >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
if [ "$STORE" = postgres ]; then
    start_postgres "$work/pg"
    store_env=(DCR_DATABASE_URL="$PG_URL")
fi
port=$(free_port)
start_dcr "$work" "$port" "${store_env[@]}"
# One real client (its secret serves every synthetic one) and a pool of its tokens for
# the verify traffic.
python3 bench/prepare.py dcr "http://127.0.0.1:$port" "$work/seed" 1 bench-operator-key-0123456789abcdef
read -r real secret <"$work/seed/creds.txt"
kill "$DCR_PID"; wait "$DCR_PID" 2>/dev/null || true
start=$(date +%s)
load_synthetic_clients "$work" "$CLIENTS" "$real"
echo "loaded $CLIENTS clients in $(( $(date +%s) - start )) s"
start_dcr "$work" "$port" "${store_env[@]}" DCR_THROTTLE__ENABLED=true DCR_THROTTLE__TRUSTED_PROXIES=127.0.0.1
idle_kb=$(rss_kb "$DCR_PID")

mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-mix-$STORE.json"
taskset -c 1 target/release/dcr-load --base "http://127.0.0.1:$port" --work "$work/seed" --pid "$DCR_PID" \
    --per-client-address mix --seconds "$SECONDS_TOTAL" --synthetic "$CLIENTS" --secret "$secret" \
    --token-rate "$TOKEN_RATE" --verify-rate "$VERIFY_RATE" --register-rate "$REGISTER_RATE" >"$work/mix.json"
python3 - "$work/mix.json" "$out" "$STORE" "$CLIENTS" "$idle_kb" <<'PY'
import json, sys
src, out, store, clients, idle_kb = sys.argv[1:]
d = json.load(open(src))
peak = max(s["rss_kb"] for s in d["samples"])
print(f"store={store} clients={int(clients):,} seconds={d['seconds']}")
for kind, r in d["traffic"].items():
    print(f"{kind:9} {r['achieved_rps']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}" + (f" {r.get('error_kinds')}" if r['errors'] else ""))
    # Where the tail is: the seconds with the most answers over slow_ms.
    worst = sorted(r["by_second"], key=lambda s: -s[2])[:5]
    print(f"{'':9} slowest seconds (s: answers over {r['slow_ms']} ms, max ms): "
          + ", ".join(f"{t}: {n}, {m:.0f}" for t, m, n in worst if n))
print(f"RSS: {int(idle_kb) / 1024:.1f} MB idle after start, peak {peak / 1024:.1f} MB under the mix")
d.update({"store": store, "clients": int(clients), "idle_rss_kb": int(idle_kb), "peak_rss_kb": peak})
d["goals"] = {
    "p99_at_most_5ms": all(r["p99_ms"] <= 5.0 for k, r in d["traffic"].items() if k != "register"),
    "rss_at_most_150mb": peak <= 150 * 1024,
    "no_errors": all(r["errors"] == 0 for r in d["traffic"].values()),
}
print("goals:", d["goals"])
json.dump(d, open(out, "w"), indent=2)
PY
echo "results: $out"
