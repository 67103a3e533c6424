#!/usr/bin/env bash
# Set up and start the service on its embedded default (SQLite under ./var, files under ./var/files),
# with the demo call, organizations and users ready (their API keys are printed and kept in var/demo.json;
# they stay the same from one start to the next). SMPS_HOST and SMPS_PORT choose where it listens.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
HOST=${SMPS_HOST:-127.0.0.1}
PORT=${SMPS_PORT:-8000}
# Install from uv.lock when pyproject.toml or uv.lock changed since the last start (the stamp is their digest).
STAMP=.venv/.smps-install-stamp
SPEC=$(cat pyproject.toml uv.lock | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$SPEC" ] || [ ! -x .venv/bin/smps ]; then
  echo "Installing the locked dependencies (first start, or pyproject.toml/uv.lock changed)…"
  # --inexact keeps the test extras if `make test` installed them.
  PYTHON="$PYTHON" scripts/setup.sh --inexact
  echo "$SPEC" > "$STAMP"
fi
.venv/bin/smps demo --output var/demo.json >/dev/null
echo "Demo data (also in var/demo.json):"
cat var/demo.json
# One line when the official faces of the printed forms are absent: which Debian packages give them.
.venv/bin/python -m app.documents.font_hint
echo "Receipt signing keys (development, var/receipt-keys):"; .venv/bin/smps keys generate --development >/dev/null; .venv/bin/smps keys list
# 0.0.0.0 / :: listen everywhere; the link to open is then the loopback one.
case "$HOST" in 0.0.0.0) SHOWN=127.0.0.1 ;; ::) SHOWN="[::1]" ;; *:*) SHOWN="[$HOST]" ;; *) SHOWN=$HOST ;; esac
if [ "$SHOWN" = "$HOST" ]; then
  echo "Serving on http://$SHOWN:$PORT — API docs at http://$SHOWN:$PORT/docs"
else
  echo "Listening on $HOST port $PORT — API docs at http://$SHOWN:$PORT/docs"
fi
exec .venv/bin/smps serve --host "$HOST" --port "$PORT"
