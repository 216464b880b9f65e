#!/usr/bin/env bash
# Set up (first run only) and run the test suite; extra arguments go to pytest
# (e.g. -m "not slow" for the quick tests only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" "test"
cd "$ROOT"
exec python -m pytest "$@"
