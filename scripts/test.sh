#!/usr/bin/env bash
# The whole test run: installs everything, starts the real test components (libvirtd,
# sshd on 127.0.0.1, glusterd, the tiny guest), runs lint, types and every test, then
# stops what it started. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test command is CI: a real component that is missing fails the run (tests/conftest.py's
# need()), whatever the caller's environment says.
export CI=true
unset TVIRT_TESTS_ALLOW_MISSING
bash scripts/install.sh --dev
bash scripts/testbed.sh up
trap 'bash scripts/testbed.sh down' EXIT
echo "test: ruff"
.venv/bin/ruff check .
echo "test: mypy"
bash scripts/typecheck.sh
echo "test: pytest"
.venv/bin/pytest -p no:cacheprovider "$@"
