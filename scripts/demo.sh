#!/usr/bin/env bash
# Installs Zhian into .venv and runs the live demo district (Ctrl-C to stop).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[faces]'
exec .venv/bin/zhian demo "$@"
