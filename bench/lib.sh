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

# load_synthetic_clients WORKDIR SIZE REAL_CLIENT_ID: SIZE clients copied from the real
# one (same application, statement and secret hash, so its secret works for all of
# them), ids 00000000-0000-4000-8000-<i in hex, 12 digits>, i = 1..SIZE, last used
# now. Into PostgreSQL at PG_URL when STORE=postgres, else into WORKDIR's SQLite store
# (the server must be stopped).
load_synthetic_clients() {
    local work="$1" size="$2" real="$3" now columns
    now=$(date +%s)
    columns="id, application_id, programmer_id, statement_jti, secret_hash, redirect_uris, device_info,
        platform, user_agent, status, created_at, last_used_at"
    local copied="c.application_id, c.programmer_id, c.statement_jti, c.secret_hash, c.redirect_uris,
        c.device_info, c.platform, c.user_agent, 'active', c.created_at, $now"
    if [ "${STORE:-sqlite}" = postgres ]; then
        psql -q "$PG_URL" -c "INSERT INTO clients ($columns)
            SELECT '00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), $copied
            FROM generate_series(1, $size) AS i, (SELECT * FROM clients WHERE id = '$real') AS c;"
        # The load's aftermath is set-up, not traffic: without this, the first reads of
        # each new row set its hint bits (dirtying every page again), autovacuum's
        # insert threshold starts a vacuum of the whole table, and a checkpoint writes
        # it all back, all on the server's core while the measurement runs.
        psql -q "$PG_URL" -c "VACUUM (FREEZE, ANALYZE) clients;" -c "CHECKPOINT;"
    else
        sqlite3 "$work/dcr-data/dcr.sqlite3" "PRAGMA synchronous = OFF;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $size)
            INSERT INTO clients ($columns)
            SELECT printf('00000000-0000-4000-8000-%012x', i), $copied
            FROM n, (SELECT * FROM clients WHERE id = '$real') AS c;
            PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
        # synchronous = OFF left the copied rows in the page cache, unwritten: dcr's
        # first fsync of the file would write them all back (hundreds of MB), and the
        # measurement would see that stall (registrations waited 1-2 s at the start).
        sync "$work/dcr-data/dcr.sqlite3"
    fi
}

BENCH_KEK="${BENCH_KEK:-$(python3 -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())')}"
