#!/usr/bin/env bash
# Set up countynet on a fresh Debian machine: a virtual environment at .venv with the tool installed.
# Usage: scripts/setup.sh            (the tool)
#        scripts/setup.sh dev        (the tool plus test and lint dependencies)
# As root it installs the Debian packages it needs (python3-venv); it never touches /etc otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  else
    echo "setup: python3-venv is missing; run as root or: sudo apt-get install python3-venv" >&2
    exit 2
  fi
fi
python3 - <<'PY' || { echo "setup: countynet needs Python 3.11 or newer" >&2; exit 2; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check uv || true
fi
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
if [ -x .venv/bin/uv ]; then
  .venv/bin/uv pip install -q --python .venv/bin/python -e "$spec"
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec"
fi
echo "setup: countynet installed in .venv ($(.venv/bin/countynet --help >/dev/null && echo ok))"
