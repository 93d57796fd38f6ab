#!/usr/bin/env bash
# The client lifecycle at scale: SIZE synthetic clients (default 10 M) bulk-loaded with
# bench/scale.sh's loader, registered over 60 days (client i at now - (SIZE-i)/SIZE ×
# 60 d, so the newest tenth registered in the last 6 days), the oldest fifth unused
# for 45 days, spread over five platforms; the rollups rebuilt to match. Then, on the
# release binary, it times and takes the peak RSS of:
#   - an activity read (30 days);
#   - a dry run and a real bulk revocation of the clients registered in the last 6
#     days (SIZE/10: 1 M of 10 M);
#   - an inactivity sweep over all of them (policy 30 days: SIZE/5 expire), while wrk
#     asks for tokens of standing clients, against a quiet run of the same wrk first.
#
#   bench/lifecycle.sh                    # SQLite, 10 M
#   SIZE=1000000 STORE=postgres bench/lifecycle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STORE="${STORE:-sqlite}"
SIZE="${SIZE:-10000000}"
DURATION="${DURATION:-20}"
CONNECTIONS="${CONNECTIONS:-16}"
source bench/lib.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --locked -p dcr -p dcr-load --quiet
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-lifecycle-$STORE.txt"
echo "store=$STORE size=$SIZE wrk: ${DURATION}s, $CONNECTIONS connections" | tee "$out"
operator=bench-operator-key-0123456789abcdef

work="$(mktemp -d)"; chmod 755 "$work"
PG_STOP=""
store_env=()
cleanup() { [ -z "${KEEP:-}" ] || cp "$work/dcr.log" /tmp/lifecycle-dcr.log; kill "${DCR_PID:-}" 2>/dev/null || true; [ -z "$PG_STOP" ] || $PG_STOP >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
if [ "$STORE" = postgres ]; then
    start_postgres "$work/pg"
    store_env=(DCR_DATABASE_URL="$PG_URL")
fi
port=$(free_port)
base="http://127.0.0.1:$port"
start_dcr "$work" "$port" "${store_env[@]}"
python3 bench/prepare.py dcr "$base" "$work/seed" 1 "$operator"
read -r real secret <"$work/seed/creds.txt"
kill "$DCR_PID"; wait "$DCR_PID" 2>/dev/null || true

now=$(date +%s)
span=$((60 * 86400))
# Columns of a synthetic client, from the real one; i is its number.
select_clients="SELECT printf('00000000-0000-4000-8000-%012x', i), c.application_id, c.programmer_id,
        c.statement_jti, c.secret_hash, c.redirect_uris, c.device_info,
        CASE i % 5 WHEN 0 THEN 'ios' WHEN 1 THEN 'android' WHEN 2 THEN 'roku' WHEN 3 THEN 'smart-tv' ELSE 'web' END,
        c.user_agent, 'active', $now - ($SIZE - i) * $span / $SIZE,
        CASE WHEN i <= $SIZE / 5 THEN $now - 45 * 86400 ELSE $now - 3600 END,
        CASE i % 5 WHEN 0 THEN 'iOS' WHEN 1 THEN 'Android' WHEN 2 THEN 'Roku OS' WHEN 3 THEN 'Tizen' ELSE 'Windows' END,
        'model-' || (i % 50),
        CASE WHEN i <= $SIZE / 5 THEN $now - 45 * 86400 ELSE $now - 3600 END"
columns="id, application_id, programmer_id, statement_jti, secret_hash, redirect_uris, device_info,
        platform, user_agent, status, created_at, last_used_at, os_name, model, last_seen_at"
# The rollups a live server would have kept: standing clients by dimension, and
# registrations per statement and day.
rollups="DELETE FROM client_breakdown; DELETE FROM daily_activity;
    INSERT INTO client_breakdown (application_id, dimension, value, active)
        SELECT application_id, 'platform', platform, COUNT(*) FROM clients WHERE status = 'active' GROUP BY 1, 3;
    INSERT INTO client_breakdown (application_id, dimension, value, active)
        SELECT application_id, 'os', os_name, COUNT(*) FROM clients WHERE status = 'active' AND os_name IS NOT NULL GROUP BY 1, 3;
    INSERT INTO client_breakdown (application_id, dimension, value, active)
        SELECT application_id, 'model', model, COUNT(*) FROM clients WHERE status = 'active' AND model IS NOT NULL GROUP BY 1, 3;
    INSERT INTO daily_activity (application_id, statement_jti, day, registrations, tokens)
        SELECT application_id, statement_jti, created_at / 86400, COUNT(*), 0 FROM clients GROUP BY 1, 2, 3;"
start=$(date +%s)
if [ "$STORE" = postgres ]; then
    pg_select="${select_clients//printf(\'00000000-0000-4000-8000-%012x\', i)/\'00000000-0000-4000-8000-\' || lpad(to_hex(i), 12, \'0\')}"
    psql -q "$PG_URL" -c "INSERT INTO clients ($columns)
        $pg_select FROM generate_series(1, $SIZE) AS i, (SELECT * FROM clients WHERE id = '$real') AS c;
        $rollups ANALYZE;"
else
    sqlite3 "$work/dcr-data/dcr.sqlite3" "PRAGMA synchronous = OFF;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $SIZE)
        INSERT INTO clients ($columns) $select_clients FROM n, (SELECT * FROM clients WHERE id = '$real') AS c;
        $rollups ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
fi
echo "loaded $SIZE clients and rebuilt the rollups in $(( $(date +%s) - start )) s" | tee -a "$out"
# Long actions answered when done (not 202 and in the background), so they can be timed.
start_dcr "$work" "$port" "${store_env[@]}" DCR_LIMITS__LONG_ACTION_WAIT_SECONDS=3600 DCR_LIMITS__REQUEST_TIMEOUT_SECONDS=3600
app=$(curl -fsS "$base/admin/v1/clients/$real" -H "Authorization: Bearer $operator" | python3 -c 'import json,sys; print(json.load(sys.stdin)["application_id"])')
auth=(-H "Authorization: Bearer $operator")

# timed NAME CMD...: wall time and the peak RSS of dcr while CMD runs (sampled every
# 50 ms), appended to the results: all of it, and the anonymous part (heap and
# stacks; the rest is SQLite's memory-mapped database file, which the kernel reclaims).
timed() {
    local name="$1"; shift
    local peak=0 anon=0 rss a t0 t1
    t0=$(date +%s.%N)
    "$@" >"$work/answer" &
    local job=$!
    while kill -0 "$job" 2>/dev/null; do
        rss=$(rss_kb "$DCR_PID"); [ "$rss" -gt "$peak" ] && peak=$rss
        a=$(awk '/RssAnon/ {print $2}' "/proc/$DCR_PID/status"); [ "$a" -gt "$anon" ] && anon=$a
        sleep 0.05
    done
    wait "$job"
    t1=$(date +%s.%N)
    printf '%-26s %8.2f s   peak RSS %7.1f MB (anonymous %6.1f MB)   %s\n' "$name" "$(echo "$t1 - $t0" | bc)" \
        "$(echo "$peak / 1024" | bc -l)" "$(echo "$anon / 1024" | bc -l)" \
        "$(head -c 120 "$work/answer" | tr -d '\n')" | tee -a "$out"
}

timed "activity read (30 days)" curl -fsS "${auth[@]}" "$base/admin/v1/applications/$app/activity?days=30" -o /dev/null -w '%{http_code}'
after=$((now - 6 * 86400))
filter="{\"registered_after\": $after}"
timed "bulk revocation, dry run" curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d "$filter" \
    "$base/admin/v1/applications/$app/clients/revoke?dry_run=true"
timed "bulk revocation" curl -fsS --max-time 3600 "${auth[@]}" -H 'Content-Type: application/json' -d "$filter" \
    "$base/admin/v1/applications/$app/clients/revoke"
timed "activity read after" curl -fsS "${auth[@]}" "$base/admin/v1/applications/$app/activity?days=30" -o /dev/null -w '%{http_code}'

# Tokens of standing clients (not expiring, not bulk-revoked): quiet, then during the sweep.
token_load() {
    WORKLOAD=token-synthetic TARGET=dcr WORK="$work/seed" SYNTHETIC=$((SIZE * 9 / 10)) SYNTHETIC_FROM=$((SIZE / 5 + 1)) \
        SECRET="$secret" taskset -c 1 wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua "$base" 2>&1 >/dev/null | grep '^RESULT'
}
quiet=$(token_load)
echo "tokens, quiet:        ${quiet#RESULT }" | tee -a "$out"
curl -fsS -X PUT "${auth[@]}" -H 'Content-Type: application/json' -d '{"expire_inactive_after_days": 30}' \
    "$base/admin/v1/applications/$app/policy" >/dev/null
token_load >"$work/during" &
load=$!
sleep 1
timed "inactivity sweep" curl -fsS --max-time 3600 -X POST "${auth[@]}" "$base/admin/v1/lifecycle/sweep"
wait "$load"
during=$(cat "$work/during")
echo "tokens, during sweep: ${during#RESULT }" | tee -a "$out"
echo "results: $out"
