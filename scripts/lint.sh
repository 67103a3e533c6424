#!/usr/bin/env bash
# Lint and type checks; `make lint`, and the first step of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff format --check --quiet app tests bench
.venv/bin/ruff check --quiet app tests bench
.venv/bin/mypy app
