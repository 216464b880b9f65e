#!/usr/bin/env bash
# Set up (first run only) and run the test suite; extra arguments go to pytest
# (e.g. -m "not slow" for the quick tests only). Runs in two processes (pytest-xdist).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" "test"
cd "$ROOT"

# tests/test_report.py checks the HTML report in a real headless Chromium: install Debian's
# when none is found and we can (root with apt-get); otherwise say so (that test then skips
# with a loud reason).
have_chromium() {
  [ -n "${BAYESCALE_CHROMIUM:-}" ] && return 0
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}
if ! have_chromium; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bayescale: installing chromium (apt-get) for the headless-browser report test" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           chromium; } >/dev/null 2>&1; then
      echo "bayescale: apt-get could not install chromium; the report's browser test will be" \
           "SKIPPED" >&2
    fi
  else
    echo "bayescale: no Chromium found and apt-get is unavailable (or not root); the report's" \
         "browser test will be SKIPPED: install chromium or set BAYESCALE_CHROMIUM" >&2
  fi
fi
# Two test processes (CI has 2 cores), whole files per process so a module's fits are made
# once; BAYESCALE_TEST_WORKERS=0 runs in one process (a later -n in "$@" also wins).
exec python -m pytest -n "${BAYESCALE_TEST_WORKERS:-2}" --dist loadfile "$@"
