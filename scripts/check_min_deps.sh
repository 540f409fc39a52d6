#!/usr/bin/env bash
# The floors of pyproject.toml, tested: a fresh venv with every dependency at the version constraints-min.txt
# pins (the oldest lontar claims to support), then the test suite (or the tests given as arguments).
#   bash scripts/check_min_deps.sh                      # resolve, install, run every test
#   bash scripts/check_min_deps.sh --resolve-only       # only check that the floors resolve together (minutes)
#   bash scripts/check_min_deps.sh tests/train -x       # a part of the suite
# Heavy (torch 2.5 and the whole HF stack at their floors, several GB): run before a release or when a
# floor moves, not on every push.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d)}
${PYTHON:-python3} -m venv "$WORK/venv"
V="$WORK/venv/bin"
if [ "${1:-}" = "--resolve-only" ]; then
  "$V/pip" install --dry-run --ignore-installed -c "$REPO/constraints-min.txt" "$REPO[dev,bench]"
  exit 0
fi
"$V/pip" install -c "$REPO/constraints-min.txt" "$REPO[dev]" --extra-index-url https://download.pytorch.org/whl/cpu
cd "$REPO"
"$V/python" -m pytest -q -p no:cacheprovider "${@:-tests}"
