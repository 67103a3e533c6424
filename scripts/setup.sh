#!/usr/bin/env bash
# Install the locked dependencies (uv.lock) into .venv. Needs only Python >= 3.11: uv itself is installed,
# at the version pinned here, into .venv-tools. Sourced by run.sh and test.sh.
# Usage: scripts/setup.sh [uv sync args…]   e.g. --extra test
# To update the lock after changing pyproject.toml: .venv-tools/bin/uv lock (add --upgrade to take newer versions).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.9
TOOLS=.venv-tools
if [ "$("$TOOLS/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "Installing uv $UV_VERSION into $TOOLS…"
  "$PYTHON" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
UV_PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')
export UV_PYTHON UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=.venv
# --locked: fail if uv.lock does not match pyproject.toml instead of silently resolving anew.
"$TOOLS/bin/uv" sync --locked --quiet "$@"
