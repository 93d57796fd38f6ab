# Shared by bench/run.sh and bench/scale.sh (sourced, not run).

source scripts/lib.sh  # free_port
wait_for() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1"; exit 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# as_postgres CMD...: PostgreSQL refuses to run as root.
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# start_postgres DIR: a durable (fsync on) cluster on CPU 0, beside the server it
# serves; sets PG_URL and PG_STOP.
start_postgres() {
    local dir="$1" bin port
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    mkdir -p "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
    port=$(free_port)
    as_postgres taskset -c 0 "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB" start >/dev/null
    PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
    PG_STOP="as_postgres $bin/pg_ctl -D $dir/data -m fast -w stop"
}

# start_dcr WORKDIR PORT [extra env...]: the release binary on CPU 0, throttling off;
# sets DCR_PID.
start_dcr() {
    local work="$1" port="$2"
    shift 2
    env DCR_THROTTLE__ENABLED=false DCR_BOOTSTRAP_OPERATOR_KEY=bench-operator-key-0123456789abcdef DCR_LOG__LEVEL=warn \
        DCR_KEY_ENCRYPTION_KEY="$BENCH_KEK" "$@" \
        taskset -c 0 target/release/dcr serve --listen "127.0.0.1:$port" --data-dir "$work/dcr-data" \
        >>"$work/dcr.log" 2>&1 &
    DCR_PID=$!
    wait_for "http://127.0.0.1:$port/readyz"
}

BENCH_KEK="$(python3 -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())')"
