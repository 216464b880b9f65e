#!/usr/bin/env bash
# The main job: set up (first run only) and fit the bundled real dataset; extra arguments go to
# `bayescale demo` (e.g. --out DIR, --draws N).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" ""
exec bayescale demo "$@"
