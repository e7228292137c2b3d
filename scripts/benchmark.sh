#!/usr/bin/env bash
# The benchmarks of docs/performance.md: installs everything (with virt-manager and Xvfb
# as peers), starts the test bed, runs the scale benchmark (tvirt against virsh and
# virt-manager on a 1000-VM host at a 20 ms round trip, RPC calls per tick, eight hosts
# with one slow), the console echo benchmark and the console flood benchmark (tvirt and
# virsh console under a guest printing as fast as it can), then stops what it started.
# Tables go to stdout; extra arguments go to benchmarks.scale (e.g. --runs 5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --bench
bash scripts/testbed.sh up
trap 'bash scripts/testbed.sh down' EXIT
.venv/bin/python -m benchmarks.scale "$@"
.venv/bin/python -m benchmarks.console_latency
.venv/bin/python -m benchmarks.console_flood
