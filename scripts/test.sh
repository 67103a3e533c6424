#!/usr/bin/env bash
# Set up and run the whole test suite, on SQLite and on a throwaway PostgreSQL cluster.
# Usage: scripts/test.sh [pytest args…]
set -euo pipefail
cd "$(dirname "$0")/.."

# The locked dependencies with the test extras; then the lint and type checks (ruff format, ruff check,
# mypy on app/): a lint or type error fails the run before any test.
scripts/setup.sh --extra test
scripts/lint.sh

# A PostgreSQL cluster of our own, in a temporary directory, on a private port.
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)}
PG_DIR=$(mktemp -d /tmp/smps-pg.XXXXXX)
PG_PORT=${SMPS_TEST_PG_PORT:-54329}
as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_pg() {
  if [ -n "${PG_BIN:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
}
trap stop_pg EXIT

if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
  [ "$(id -u)" = "0" ] && chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=600" start >/dev/null
  export SMPS_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
else
  echo "PostgreSQL server binaries not found (install the 'postgresql' package)" >&2
  if [ "${CI:-}" = "true" ] || [ "${SMPS_REQUIRE_POSTGRES:-}" = "1" ]; then exit 1; fi
fi

status=0
for backend in sqlite postgresql; do
  if [ "$backend" = "postgresql" ] && [ -z "${SMPS_TEST_POSTGRES_URL:-}" ]; then
    echo "skipping the PostgreSQL run: no server (set CI=true to make this an error)" >&2
    continue
  fi
  echo "== test suite on $backend =="
  set +e
  # Checks marked backend_independent (the consumers' tools on the OpenAPI document) run once, on SQLite.
  only=()
  [ "$backend" = "postgresql" ] && only=(-m "not backend_independent")
  SMPS_TEST_DATABASE=$backend .venv/bin/python -m pytest -q "${only[@]}" "$@"
  rc=$?
  set -e
  # 5: no tests collected (e.g. a -k filter that matched nothing) is not a failure of the suite.
  if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then status=$rc; fi
done
exit $status
