#!/usr/bin/env bash
# Installs what tvirt needs on Debian 12 (as root): system packages, then a venv in .venv
# with tvirt and its Python dependencies. Safe to run again.
#   scripts/install.sh        the app only
#   scripts/install.sh --dev  also the test components and test tools
#   scripts/install.sh --bench  --dev, plus the benchmarks' peers (virt-manager, Xvfb)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=app
[ "${1:-}" = "--dev" ] && mode=all
[ "${1:-}" = "--bench" ] && mode=bench
bash scripts/install-system.sh "$mode"
if [ ! -x .venv/bin/python ]; then
    echo "install: creating .venv"
    /usr/bin/python3 -m venv .venv
fi
echo "install: installing tvirt into .venv"
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "$mode" != app ]; then
    .venv/bin/python -m pip install --quiet -e '.[dev]'
else
    .venv/bin/python -m pip install --quiet -e .
fi
echo "install: done ($(.venv/bin/tvirt --version))"
