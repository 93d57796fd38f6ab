#!/usr/bin/env bash
# Side-by-side benchmark: dcr and node-oidc-provider 9 (memory adapter) on this
# machine, in one run, alternating workloads, against the ceiling of this hardware
# measured in the same run: nginx `return 200` with a body the size of each answer
# (plain HTTP on this core, same wrk settings) and the signing rate of ES256, RS256 and
# Ed25519 (`openssl speed`). The token ceiling is 1 / (1/http + 1/sign). Every server
# is pinned to CPU 0 and wrk to CPU 1 (taskset). Prints the table with dcr/peer ratios
# and dcr/ceiling fractions, then tokens/s per signing algorithm, then tokens/s and
# verify/s with DPoP proofs beside the plain figures, and writes JSON under
# bench/results/.
#
# On a shared machine the speed of the core moves within a minute, so each workload
# runs in ROUNDS rounds of dcr, peer and nginx one after the other, and each figure is
# the round with the median rate (failures are summed over all rounds); signing rates
# are the median of ROUNDS measurements. A ratio or a fraction is then taken between
# neighbouring measurements, not between one lucky and one unlucky window.
#
#   bench/run.sh                 # SQLite (default)
#   STORE=postgres bench/run.sh  # a local PostgreSQL cluster (fsync on), also on CPU 0
#   DURATION=10 ROUNDS=3 CONNECTIONS=16 CLIENTS=1000 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-16}"
CLIENTS="${CLIENTS:-1000}"
WORKLOADS="${WORKLOADS:-token register verify introspect}"
STORE="${STORE:-sqlite}"
source bench/lib.sh

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }
command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 1; }
[ -d bench/peer/node_modules/oidc-provider ] || (cd bench/peer && npm install --no-audit --no-fund --silent)
# The same build as every bench script (one feature set: no rebuild between them).
cargo build --release --locked -p dcr -p dcr-load --quiet

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

# The ceiling: plain HTTP through nginx (one worker on CPU 0) answering the same
# requests with bodies the size of dcr's, and signatures per second on CPU 0.
nginx_port=$(free_port)
token_body=$(python3 -c 'import json; print(json.dumps({"id": "x" * 36, "access_token": "e" * 760, "token_type": "bearer", "expires_in": 21600, "created_at": 1796000000000, "scope": "api:client:v2"}))')
verify_body=$(python3 -c 'import json; print(json.dumps({"active": True, "client_id": "x" * 36, "software_id": "y" * 36, "programmer": "bench", "scope": "api:client:v2", "aud": "http://127.0.0.1", "channels": None, "exp": 1796000000}))')
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$nginx_port;
        default_type application/json;
        location /o/auth/verify { return 200 '$verify_body'; }
        location /o/introspect { return 200 '$verify_body'; }
        location / { return 200 '$token_body'; }
    }
}
NGINX
taskset -c 0 nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' >"$work/nginx/out.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$nginx_port/"
sign_rate() { # openssl speed's name for the algorithm → signatures per second on CPU 0
    taskset -c 0 openssl speed -seconds 3 "$1" 2>/dev/null | awk -v alg="$1" '
        alg == "rsa2048" && $1 == "rsa" && $2 == "2048" { print $(NF-1); exit }
        alg != "rsa2048" && /bits/ && (/nistp256/ || /Ed25519/) { print $(NF-1); exit }'
}
echo "==> the ceiling: signatures per second on CPU 0"
# median: the middle one of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A signs
for alg in ecdsap256 rsa2048 ed25519; do
    signs[$alg]=$(for ((r = 1; r <= ROUNDS; r++)); do sign_rate "$alg"; done | median)
    echo "    $alg: ${signs[$alg]} sign/s (median of $ROUNDS)"
done

field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2}'; }
declare -A result
measure() { # workload whose-requests port [prepared-dir] → one RESULT line
    WORKLOAD="$1" TARGET="$2" WORK="${4:-$work/$2}" taskset -c 1 \
        wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/wrk.lua "http://127.0.0.1:$3" 2>&1 >/dev/null | grep '^RESULT'
}
# median_result RESULT-LINES: the line of the round with the median rate, its errors
# and non-2xx answers replaced by the sums over all rounds.
median_result() {
    awk '
        { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] }
          order[NR] = NR; errors += v[NR, "errors"]; non2xx += v[NR, "non2xx"] }
        END {
            for (i = 2; i <= NR; i++)
                for (j = i; j > 1 && v[order[j - 1], "rps"] + 0 > v[order[j], "rps"] + 0; j--) {
                    t = order[j]; order[j] = order[j - 1]; order[j - 1] = t
                }
            m = order[int((NR + 1) / 2)]
            printf "RESULT rps=%s p50_ms=%s p99_ms=%s errors=%d non2xx=%d\n", v[m, "rps"], v[m, "p50_ms"], v[m, "p99_ms"], errors, non2xx
        }'
}
for w in $WORKLOADS; do
    echo "==> $w"
    declare -A rounds=([dcr]="" [peer]="" [nginx]="")
    for ((r = 1; r <= ROUNDS; r++)); do
        d=$(measure "$w" dcr "$dcr_port"); p=$(measure "$w" peer "$peer_port")
        # The same requests (dcr's) answered by nginx: the plain-HTTP ceiling.
        n=$(measure "$w" dcr "$nginx_port")
        echo "      round $r: dcr $(field "$d" rps), peer $(field "$p" rps), nginx $(field "$n" rps) req/s"
        rounds[dcr]+="$d"$'\n'; rounds[peer]+="$p"$'\n'; rounds[nginx]+="$n"$'\n'
    done
    for t in dcr peer nginx; do
        result["$w,$t"]=$(printf '%s' "${rounds[$t]}" | median_result)
        echo "    $t $w: ${result[$w,$t]#RESULT } (median of $ROUNDS)"
    done
done
# DPoP beside the plain figures: the same token and forward-auth requests with one
# single-use proof each, made by dcr-load just before each round (wrk cannot sign; a
# proof is fresh for a minute), against dcr and, for the ceiling, nginx with the same
# requests. The peer is left out (its DPoP would need its own client setup).
declare -A dpop
dpop_workloads=""
[[ " $WORKLOADS " == *" token "* ]] && dpop_workloads+=" token"
[[ " $WORKLOADS " == *" verify "* ]] && dpop_workloads+=" verify"
if [ -n "$dpop_workloads" ]; then
    load=(target/release/dcr-load --base "http://127.0.0.1:$dcr_port" --work "$work/dcr" --pid "$dcr_pid")
    "${load[@]}" bind
fi
for w in $dpop_workloads; do
    echo "==> $w with DPoP"
    declare -A rounds=([dcr]="" [nginx]="")
    # Enough proofs for the plain rate (a proof only adds work), and then some.
    count=$(awk -v r="$(field "${result[$w,dcr]}" rps)" -v d="$DURATION" 'BEGIN { printf "%d", r * d * 1.3 + 1000 }')
    for ((r = 1; r <= ROUNDS; r++)); do
        "${load[@]}" proofs --kind "$w" --count "$count" --threads 2
        d=$(measure "$w-dpop" dcr "$dcr_port"); n=$(measure "$w-dpop" dcr "$nginx_port")
        echo "      round $r: dcr $(field "$d" rps), nginx $(field "$n" rps) req/s"
        rounds[dcr]+="$d"$'\n'; rounds[nginx]+="$n"$'\n'
    done
    for t in dcr nginx; do
        dpop["$w,$t"]=$(printf '%s' "${rounds[$t]}" | median_result)
        echo "    $t $w with DPoP: ${dpop[$w,$t]#RESULT } (median of $ROUNDS)"
    done
done
dcr_load=$(rss_kb "$dcr_pid")
peer_load=$(rss_kb "$peer_pid")

# token_ceiling SIGN_PER_S: 1 / (1/http + 1/sign), http being nginx on the token requests.
token_ceiling() { awk -v h="$(field "${result[token,nginx]:-}" rps)" -v s="$1" 'BEGIN { if (h > 0 && s > 0) printf "%.0f", 1 / (1 / h + 1 / s); else print 0 }'; }

# Tokens per second per signing algorithm: a fresh dcr for each, the token workload
# (skipped when WORKLOADS leaves tokens out).
declare -A by_alg
by_alg_json=""
algorithms="ES256 RS256 EdDSA"
[[ " $WORKLOADS " == *" token "* ]] || algorithms=""
for alg in $algorithms; do
    if [ "$alg" = ES256 ]; then
        by_alg[$alg]=$(field "${result[token,dcr]}" rps)
    else
        alg_port=$(free_port)
        mkdir -p "$work/$alg"
        start_dcr "$work/$alg" "$alg_port" "${store_env[@]}" DCR_SIGNING__ALGORITHM="$alg"
        pids+=("$DCR_PID")
        python3 bench/prepare.py dcr "http://127.0.0.1:$alg_port" "$work/$alg/seed" 100 bench-operator-key-0123456789abcdef >/dev/null
        by_alg[$alg]=$(field "$(measure token dcr "$alg_port" "$work/$alg/seed")" rps)
        kill "$DCR_PID"; wait "$DCR_PID" 2>/dev/null || true
    fi
    by_alg_json="$by_alg_json${by_alg_json:+, }\"$alg\": ${by_alg[$alg]}"
done
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="bench/results/$stamp-$STORE.json"
{
    printf '{\n  "store": "%s", "duration_s": %s, "rounds": %s, "connections": %s, "clients": %s,\n' "$STORE" "$DURATION" "$ROUNDS" "$CONNECTIONS" "$CLIENTS"
    printf '  "rss_kb": {"dcr_idle": %s, "dcr_load": %s, "peer_idle": %s, "peer_load": %s},\n' "$dcr_idle" "$dcr_load" "$peer_idle" "$peer_load"
    printf '  "sign_per_s": {"es256": %s, "rs256": %s, "ed25519": %s},\n' "${signs[ecdsap256]}" "${signs[rsa2048]}" "${signs[ed25519]}"
    printf '  "token_ceiling_rps": {"es256": %s, "rs256": %s, "ed25519": %s},\n' \
        "$(token_ceiling "${signs[ecdsap256]}")" "$(token_ceiling "${signs[rsa2048]}")" "$(token_ceiling "${signs[ed25519]}")"
    printf '  "tokens_by_algorithm": {%s},\n' "$by_alg_json"
    printf '  "dpop": {'
    sep=""
    for w in $dpop_workloads; do
        printf '%s"%s": {"dcr_rps": %s, "dcr_p99_ms": %s, "dcr_failed": %s, "nginx_rps": %s, "plain_dcr_rps": %s}' "$sep" "$w" \
            "$(field "${dpop[$w,dcr]}" rps)" "$(field "${dpop[$w,dcr]}" p99_ms)" \
            "$(( $(field "${dpop[$w,dcr]}" errors) + $(field "${dpop[$w,dcr]}" non2xx) ))" \
            "$(field "${dpop[$w,nginx]}" rps)" "$(field "${result[$w,dcr]}" rps)"
        sep=", "
    done
    printf '},\n'
    printf '  "workloads": {'
    sep=""
    for w in $WORKLOADS; do
        printf '%s\n    "%s": {' "$sep" "$w"
        s2=""
        for t in dcr peer nginx; do
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
printf '%-11s %11s %11s %7s %11s %9s %9s %9s %9s %11s\n' workload "dcr req/s" "peer req/s" ratio "ceiling" "of ceil." "dcr p50" "dcr p99" "peer p99" "failed d/p"
for w in $WORKLOADS; do
    d="${result[$w,dcr]}"; p="${result[$w,peer]}"
    ratio=$(awk -v a="$(field "$d" rps)" -v b="$(field "$p" rps)" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
    case "$w" in
        token) ceiling=$(token_ceiling "${signs[ecdsap256]}") ;;
        verify|introspect) ceiling=$(field "${result[$w,nginx]}" rps) ;;
        *) ceiling="-" ;;  # registrations are durable writes: no HTTP-only ceiling
    esac
    share=$(awk -v a="$(field "$d" rps)" -v c="$ceiling" 'BEGIN { if (c + 0 > 0) printf "%.0f%%", 100 * a / c; else print "-" }')
    # Failed = socket errors + non-2xx answers: a fast error is not throughput.
    fd=$(( $(field "$d" errors) + $(field "$d" non2xx) )); fp=$(( $(field "$p" errors) + $(field "$p" non2xx) ))
    printf '%-11s %11s %11s %7s %11s %9s %7sms %7sms %7sms %11s\n' "$w" "$(field "$d" rps)" "$(field "$p" rps)" "$ratio" \
        "$ceiling" "$share" "$(field "$d" p50_ms)" "$(field "$d" p99_ms)" "$(field "$p" p99_ms)" "$fd/$fp"
done
printf 'ceiling: nginx return 200 on CPU 0 (token %s, verify %s req/s); signatures on CPU 0: ES256 %s, RS256 %s, Ed25519 %s /s\n' \
    "$(field "${result[token,nginx]:-}" rps)" "$(field "${result[verify,nginx]:-}" rps)" "${signs[ecdsap256]}" "${signs[rsa2048]}" "${signs[ed25519]}"
printf 'tokens/s by signing algorithm (dcr, one core): ES256 %s, RS256 %s, EdDSA %s (ceilings %s, %s, %s)\n' \
    "${by_alg[ES256]:-}" "${by_alg[RS256]:-}" "${by_alg[EdDSA]:-}" \
    "$(token_ceiling "${signs[ecdsap256]}")" "$(token_ceiling "${signs[rsa2048]}")" "$(token_ceiling "${signs[ed25519]}")"
for w in $dpop_workloads; do
    printf '%s with DPoP (dcr, one core): %s req/s (plain %s), p99 %s ms, failed %s; nginx with the same requests %s req/s\n' "$w" \
        "$(field "${dpop[$w,dcr]}" rps)" "$(field "${result[$w,dcr]}" rps)" "$(field "${dpop[$w,dcr]}" p99_ms)" \
        "$(( $(field "${dpop[$w,dcr]}" errors) + $(field "${dpop[$w,dcr]}" non2xx) ))" "$(field "${dpop[$w,nginx]}" rps)"
done
printf 'RSS: dcr %s MB idle, %s MB after load; peer %s MB idle, %s MB after load\n' \
    "$((dcr_idle / 1024))" "$((dcr_load / 1024))" "$((peer_idle / 1024))" "$((peer_load / 1024))"
echo "results: $json"
