#!/usr/bin/env bash
# Installs Zhian with its test tools into .venv and runs every check CI runs:
# format, lint, strict types, import layering, migrations in sync, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff format --check"; ruff format --check src tests bench
echo "== ruff check";          ruff check src tests bench
echo "== mypy (strict)";       mypy
echo "== import-linter";       lint-imports
echo "== alembic check";       python -m zhian.db.check
echo "== pytest";              python -m pytest "$@"
