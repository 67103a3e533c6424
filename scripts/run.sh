#!/usr/bin/env bash
# Set up and start the service on its embedded default (SQLite under ./var, files under ./var/files),
# with the demo call, organizations and users ready (their API keys are printed and kept in var/demo.json).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --upgrade pip >/dev/null
.venv/bin/pip install --quiet -e .
mkdir -p var
.venv/bin/smps demo > var/demo.json
echo "Demo data (also in var/demo.json):"
cat var/demo.json
echo "Receipt signing keys (development, var/receipt-keys):"; .venv/bin/smps keys generate --development >/dev/null; .venv/bin/smps keys list
echo "Serving on http://127.0.0.1:8000 — API docs at http://127.0.0.1:8000/docs"
exec .venv/bin/smps serve --host "${SMPS_HOST:-127.0.0.1}" --port "${SMPS_PORT:-8000}"
