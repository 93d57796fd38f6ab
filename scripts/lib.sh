# Shared by scripts/schemathesis, scripts/interop and scripts/browser (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Processes to stop when the script exits, besides dcr.
extra_pids=()

# serve_dcr OPERATOR_KEY: builds with the feature set of `cargo test --workspace` (so
# no dependency is built a second time), starts target/debug/dcr with throttling off
# on a free loopback port in a fresh directory, and waits until it is ready. Sets
# `work`, `port`, `base` and `dcr_pid`. On exit it stops dcr and every pid in
# `extra_pids`, and removes the directory.
serve_dcr() {
    cargo build --quiet --locked --workspace --tests
    work="$(mktemp -d)"
    port=$(free_port)
    base="http://127.0.0.1:$port"
    # One address sends everything here: no device throttling, and room for the
    # failed authentications that hostile-input tests make on purpose.
    DCR_THROTTLE__ENABLED=false DCR_LIMITS__FAILED_AUTH_PER_MINUTE=1000000 \
        DCR_BOOTSTRAP_OPERATOR_KEY="$1" DCR_LOG__LEVEL=warn \
        target/debug/dcr serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/dcr.log" 2>&1 &
    dcr_pid=$!
    trap 'kill "$dcr_pid" "${extra_pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 1 100); do
        curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "dcr did not become ready"; cat "$work/dcr.log"; exit 1
}
