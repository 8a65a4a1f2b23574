#!/usr/bin/env bash
# Everything `make test` (and so CI) runs: start the services the tests need when none answer,
# then lint, type-check, check the layers, and run pytest. Services started here stop at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PY=$BIN/python
RUNTIME=$(mktemp -d "${TMPDIR:-/tmp}/reelbox-test.XXXXXX")
chmod 755 "$RUNTIME"
cleanup_cmds=()
cleanup() {
    for cmd in "${cleanup_cmds[@]}"; do eval "$cmd" >/dev/null 2>&1 || true; done
    rm -rf "$RUNTIME"
}
trap cleanup EXIT

answers() { # host port
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
url_host_port() { # url default-port
    $PY -c 'import sys; from urllib.parse import urlsplit; u=urlsplit(sys.argv[1].replace("+asyncpg","")); print(u.hostname or "127.0.0.1", u.port or sys.argv[2])' "$1" "$2"
}
wait_for() { # host port what
    for _ in $(seq 1 100); do answers "$1" "$2" && return 0; sleep 0.1; done
    echo "run.sh: $3 did not start on $1:$2" >&2
    return 1
}

bash tests/ensure-system.sh ffmpeg

# --- Node peers: Debian's Chromium with hls.js (browser test), oidc-provider (OIDC login tests) ---
bash tests/ensure-system.sh chromium npm
# npm install (not npm ci) when node_modules is missing or the lock changed since the last install.
for package in tests/browser tests/oidc; do
    if ! cmp -s "$package/package-lock.json" "$package/node_modules/.reelbox-installed-lock"; then
        (cd "$package" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
        cp "$package/package-lock.json" "$package/node_modules/.reelbox-installed-lock"
    fi
done

# --- PostgreSQL ---------------------------------------------------------------------------------
export REELBOX_TEST_DATABASE_URL=${REELBOX_TEST_DATABASE_URL:-postgresql+asyncpg://root@127.0.0.1:5432/postgres}
read -r pg_host pg_port < <(url_host_port "$REELBOX_TEST_DATABASE_URL" 5432)
if ! answers "$pg_host" "$pg_port"; then
    bash tests/ensure-system.sh postgres
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    port=$(free_port)
    data="$RUNTIME/pg"
    as_pg=()
    if [ "$(id -u)" = 0 ]; then
        # initdb refuses to run as root: the cluster belongs to the postgres user.
        mkdir -p "$data" && chown postgres "$data"
        as_pg=(runuser -u postgres --)
    fi
    "${as_pg[@]}" "$pgbin/initdb" -D "$data" -U root --auth=trust -E UTF8 >/dev/null
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    cleanup_cmds+=("${as_pg[*]} $pgbin/pg_ctl -D $data -m immediate stop")
    export REELBOX_TEST_DATABASE_URL="postgresql+asyncpg://root@127.0.0.1:$port/postgres"
    echo "run.sh: started PostgreSQL on 127.0.0.1:$port" >&2
fi

# --- Redis --------------------------------------------------------------------------------------
export REELBOX_TEST_REDIS_URL=${REELBOX_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
read -r redis_host redis_port < <(url_host_port "$REELBOX_TEST_REDIS_URL" 6379)
if ! answers "$redis_host" "$redis_port"; then
    bash tests/ensure-system.sh redis
    port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --daemonize yes --pidfile "$RUNTIME/redis.pid" --logfile "$RUNTIME/redis.log"
    cleanup_cmds+=("kill \$(cat $RUNTIME/redis.pid)")
    wait_for 127.0.0.1 "$port" Redis
    export REELBOX_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
    echo "run.sh: started Redis on 127.0.0.1:$port" >&2
fi

# --- S3 (moto server) ---------------------------------------------------------------------------
if [ -z "${REELBOX_TEST_S3_URL:-}" ]; then
    port=$(free_port)
    $BIN/moto_server -H 127.0.0.1 -p "$port" >"$RUNTIME/moto.log" 2>&1 &
    cleanup_cmds+=("kill $!")
    wait_for 127.0.0.1 "$port" "moto S3 server"
    export REELBOX_TEST_S3_URL="http://127.0.0.1:$port"
fi

# --- checks -------------------------------------------------------------------------------------
echo "== ruff" >&2
$BIN/ruff check engine ingest web bench tests
$BIN/ruff format --check --quiet engine ingest web bench tests
echo "== import contracts" >&2
$BIN/lint-imports --no-cache
echo "== mypy --strict" >&2
$BIN/mypy
echo "== client: tsc, jest" >&2
if ! cmp -s client/package-lock.json client/node_modules/.reelbox-installed-lock; then
    (cd client && EXPO_OFFLINE=1 EXPO_NO_TELEMETRY=1 CI=1 \
        npm install --no-audit --no-fund --loglevel=error >/dev/null)
    cp client/package-lock.json client/node_modules/.reelbox-installed-lock
fi
(cd client && EXPO_OFFLINE=1 EXPO_NO_TELEMETRY=1 CI=1 npm run --silent typecheck)
(cd client && EXPO_OFFLINE=1 EXPO_NO_TELEMETRY=1 CI=1 npm test --silent -- --ci)
echo "== pytest" >&2
# pytest exits 5 when it collected no tests: a failure here, like any other non-zero code.
$BIN/pytest -q "$@"
