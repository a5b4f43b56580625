#!/usr/bin/env bash
# The README's test command: set up everything, then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k logging -x).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PYTHONDONTWRITEBYTECODE=1
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
