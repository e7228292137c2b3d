"""Guard: every plain command, found in the argparse registry (so a new one is covered
without touching this file), runs with its stdout a pipe whose reader has already left,
plainly and with --json, and must end without a traceback and with a documented exit
status (0 ok, 1 failed, 2 usage, 3 no host).

Arguments come from SAMPLES by destination name; a command with an argument not in
SAMPLES fails the test until a sample is added. Every change lands on a private copy of
the lab node (test driver state is per connection), confirmations get no terminal (so
destructive commands refuse), and host-side commands (disks, wipe, gluster) only read or
refuse a device that does not exist.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_accessibility import FIXTURE, tvirt_bin

from tvirt.cli import build_parser

EXIT_CODES = {0, 1, 2, 3}
NETWORK = (
    "<network><name>guardnet</name><bridge name='tvguard0'/><forward/>"
    "<ip address='192.168.199.1' netmask='255.255.255.0'><dhcp>"
    "<range start='192.168.199.2' end='192.168.199.254'/></dhcp></ip></network>"
)
NO_DEVICE = "/dev/tvirt-guard-no-such-device"
# A sample per argument destination; ("command [action]", dest) entries win over
# ("command", dest) ones, which win over plain dest ones.
SAMPLES: dict[str | tuple[str, str], list[str]] = {
    "vm": ["web01"],
    "vms": ["web01"],
    "setting": ["on"],
    "name": ["guard1"],
    ("vol", "name"): ["db01.qcow2"],
    ("net", "name"): ["guardnet"],
    ("snapshot", "name"): ["guardsnap"],
    "new_name": ["guard-copy"],
    "size": ["64M"],
    "count": ["1"],
    "target": ["vda"],
    "path": [],
    "mac": ["52:54:00:00:00:01"],
    "devices": ["hd"],
    "pool": ["lab-pool"],
    "type": ["dir"],
    "volume": ["guardvol"],
    "bricks": [f"localhost:{NO_DEVICE}"] * 3,
    "host": ["localhost"],
    "device": [NO_DEVICE],
    "dest": ["test:///{tmp}/dest.xml"],
    "file": ["{tmp}/guard.img"],
    ("vol download", "file"): ["{tmp}/downloaded.img"],
    # Options some commands require (or one of a required group).
    "--method": ["zero"],
    "--network": ["guardnet"],
    "--pxe": [],
}


def leaf_commands() -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    def walk(parser: argparse.ArgumentParser, path: list[str]) -> Iterator[
        tuple[list[str], argparse.ArgumentParser]
    ]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, parser
            return
        for name, sub in subs[0].choices.items():
            yield from walk(sub, [*path, name])

    yield from walk(build_parser(), [])


def sample(command: list[str], key: str) -> list[str]:
    found = SAMPLES.get((" ".join(command), key),
                        SAMPLES.get((command[0], key), SAMPLES.get(key)))
    if found is None:
        pytest.fail(f"`tvirt {' '.join(command)}` takes {key}: add a sample for it to SAMPLES")
    return found


def argv_for(command: list[str], parser: argparse.ArgumentParser) -> list[str]:
    argv = list(command)
    for action in parser._actions:
        if action.option_strings or not action.required:
            continue
        if action.choices:
            argv.append(str(next(iter(action.choices))))
        else:
            argv += sample(command, action.dest)
    for action in parser._actions:
        if action.option_strings and action.required:
            argv += [action.option_strings[0], *sample(command, action.option_strings[0])]
    for group in parser._mutually_exclusive_groups:
        if group.required:
            first = group._group_actions[0].option_strings[0]
            for action in group._group_actions:
                if action.option_strings[0] in SAMPLES:
                    first = action.option_strings[0]
                    break
            argv += [first, *sample(command, first)]
    return argv


def run_closed(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run tvirt with stdout a pipe whose reader is gone before it writes anything."""
    proc = subprocess.Popen([tvirt_bin(), *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    proc.stdout.close()
    _out, err = proc.communicate(timeout=180)
    return proc.returncode, err.decode(errors="replace")


def test_every_command_survives_a_reader_that_left_early(tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_text(FIXTURE.read_text().replace("</node>", f"{NETWORK}</node>"))
    (tmp_path / "dest.xml").write_text(FIXTURE.read_text())
    (tmp_path / "guard.img").write_bytes(b"\0" * 65536)
    uri = f"test://{node}"
    env = {**os.environ, "TVIRT_CONFIG": str(tmp_path / "config.toml")}
    runs: list[list[str]] = []
    for command, parser in leaf_commands():
        # Global options after the command, as people type them.
        argv = [a.replace("{tmp}", str(tmp_path)) for a in argv_for(command, parser)]
        runs += [[*argv, "-c", uri], [*argv, "-c", uri, "--json"]]
    assert len(runs) >= 2 * 59  # the commands there were when this guard was written
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda argv: (argv, *run_closed(argv, env)), runs))
    bad = [
        f"tvirt {' '.join(argv)}: exit {code}: {err.strip()[-600:]}"
        for argv, code, err in results
        if code not in EXIT_CODES or "Traceback" in err or "Exception ignored" in err
    ]
    assert not bad, "\n".join(bad)
