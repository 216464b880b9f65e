#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: find a Python >= 3.12, create .venv in the repository and
# install bayescale into it (again only when pyproject.toml changed). Usage: source env.sh [extras]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${1:-}"

is_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local candidate
  for candidate in "${BAYESCALE_PYTHON:-}" python3.12 python3.13 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && is_ok "$candidate"; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local root version
    root="$(pyenv root)"
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.[0-9]+' | sort -V); do
      candidate="$root/versions/$version/bin/python3"
      if [ -x "$candidate" ] && is_ok "$candidate"; then echo "$candidate"; return 0; fi
    done
  fi
  return 1
}

VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ] || ! is_ok "$VENV/bin/python"; then
  if ! PY="$(find_python)"; then
    echo "bayescale: no Python >= 3.12 found (tried \$BAYESCALE_PYTHON, python3.13, python3.12," \
         "python3, python and 'pyenv versions'). Install Python 3.12+ or set BAYESCALE_PYTHON." >&2
    exit 1
  fi
  echo "bayescale: creating $VENV with $PY ($("$PY" --version 2>&1))" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.bayescale-installed"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1) extras=[$EXTRAS]"
if [ ! -f "$STAMP" ] || ! grep -qxF "$WANT" "$STAMP"; then
  echo "bayescale: installing into $VENV (first run takes a few minutes)" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  spec="$ROOT"; [ -n "$EXTRAS" ] && spec="$ROOT[$EXTRAS]"
  "$VENV/bin/python" -m pip install --quiet -e "$spec" >&2
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
