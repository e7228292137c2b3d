#!/usr/bin/env bash
# The whole test run: installs everything, starts the real test components (libvirtd,
# sshd on 127.0.0.1, glusterd, the tiny guest, then the three-host lab of scripts/lab.sh),
# runs lint, types and every test, then stops what it started. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test command is CI: a real component that is missing fails the run (tests/conftest.py's
# need()), whatever the caller's environment says.
export CI=true
unset TVIRT_TESTS_ALLOW_MISSING
bash scripts/install.sh --dev
# Each down runs whatever the other one does: a failed lab down still stops the test bed.
finish() {
    local rc=$?
    bash scripts/lab.sh down || rc=1
    bash scripts/testbed.sh down || rc=1
    exit "$rc"
}
bash scripts/testbed.sh up
trap finish EXIT
bash scripts/lab.sh up
echo "test: ruff"
.venv/bin/ruff check .
echo "test: mypy"
bash scripts/typecheck.sh
echo "test: pytest"
# The report (per-test times, e.g. what the lab tests add) stays in the checkout.
.venv/bin/pytest -p no:cacheprovider --junitxml=test-report.xml --durations=15 "$@"
