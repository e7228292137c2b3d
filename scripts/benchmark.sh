#!/usr/bin/env bash
# The benchmarks of docs/performance.md: installs everything (with virt-manager and Xvfb
# as peers), starts the test bed, runs the scale benchmark (tvirt against virsh and
# virt-manager on a 1000-VM host at a 20 ms round trip, RPC calls per tick, eight hosts
# with one slow), the fifty-host benchmark (50 test+ssh hosts of 200 VMs, virt-manager on
# the same URIs), the console echo and console flood benchmarks (tvirt and virsh console
# under a guest printing as fast as it can), the graphical display's key-to-screen time
# (against virsh send-key and screenshot) with its fps and CPU, the command start-up times against virsh,
# the ssh handshakes per minute of the Gluster view with connection sharing on and off
# and the real-host benchmarks on the lab of scripts/lab.sh (launch, RPC per tick, live
# migration, eight hosts), then stops what it started.
# Tables go to stdout; extra arguments go to benchmarks.scale (e.g. --runs 5);
# --skip-virt-manager also skips it in the fifty-host run, --skip-fifty skips that run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --bench
bash scripts/testbed.sh up
trap 'bash scripts/lab.sh down; bash scripts/testbed.sh down' EXIT
bash scripts/lab.sh up
fifty=() scale=() skip_fifty=
for arg in "$@"; do
    case $arg in
        --skip-fifty) skip_fifty=1 ;;
        --skip-virt-manager) fifty+=("$arg"); scale+=("$arg") ;;
        *) scale+=("$arg") ;;
    esac
done
.venv/bin/python -m benchmarks.scale "${scale[@]}"
[[ -n $skip_fifty ]] || .venv/bin/python -m benchmarks.fifty_hosts "${fifty[@]}"
.venv/bin/python -m benchmarks.console_latency
.venv/bin/python -m benchmarks.console_flood
.venv/bin/python -m benchmarks.display_latency
.venv/bin/python -m benchmarks.cli_start
.venv/bin/python -m benchmarks.ssh_handshakes
.venv/bin/python -m benchmarks.lab_hosts
