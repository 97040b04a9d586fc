#!/usr/bin/env bash
# Set up everything the test suite needs, then run it. This is the README's test command and what CI runs.
# As root it also installs the Debian packages the lab and deploy tests use (FRR, nftables, strongSwan,
# OpenSSH); without root those tests skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  pkgs=$(grep -hv '^\s*#' scripts/lab-packages.txt 2>/dev/null | tr '\n' ' ')
  missing=""
  for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "test: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi
.venv/bin/ruff check countynet tests benchmarks
.venv/bin/mypy countynet
.venv/bin/lint-imports  # the stage layering of pyproject.toml [tool.importlinter]
# two workers (the machine has two cores); a file's tests stay on one worker so module fixtures (a lab) start once
exec .venv/bin/pytest -q -n 2 --dist loadfile --durations=15 "$@"
