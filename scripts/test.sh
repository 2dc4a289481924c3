#!/usr/bin/env bash
# Installs Zhian with its test tools into .venv and runs every check CI runs:
# format, lint, strict types, import layering, migrations in sync, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests drive Debian's Chromium; Chinese needs the Noto CJK fonts.
if ! [ -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium fonts-noto-cjk fontconfig >/dev/null
  else
    echo "Install Chromium and the CJK fonts first: sudo apt-get install chromium fonts-noto-cjk" >&2
    exit 1
  fi
fi

# The Spark batch engine's tests (pyspark, from the dev extra) need Java 17.
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      openjdk-17-jre-headless >/dev/null
  else
    echo "Install Java 17 first: sudo apt-get install openjdk-17-jre-headless" >&2
    exit 1
  fi
fi

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
# One worker process per core; a test file stays on one worker (module fixtures run once).
echo "== pytest";              python -m pytest -n auto --dist loadfile "$@"
