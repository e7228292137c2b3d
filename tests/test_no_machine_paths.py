"""No test, benchmark or script names a place that only one machine has.

A fresh clone on a fresh machine must pass: a path such as a developer's venv, home or
work tree, left in a test, worked where it was written and nowhere else. Every absolute
path in tests/, benchmarks/ and scripts/ must be in the allow-list below, each entry
with the reason it is the same on every machine.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("tests", "benchmarks", "scripts")
THIS_FILE = Path(__file__).resolve()  # its own examples below are machine paths on purpose

# An absolute path: "/" then a lowercase name, not inside a word, a URI ("qemu:///system"),
# a variable ("$root/etc"), a closing tag ("</name>", "&lt;/name") or an awk pattern.
PATH = re.compile(r"(?<![\w.:/<>~$@%{}()\[\]\\*;&-])/[a-z][\w.+@-]*(?:/[\w.+@-]+)*")

# A place, and everything under it.
ALLOWED_PLACES = (
    # The test bed's own places: scripts/testbed.sh and scripts/build-guest.sh create them.
    "/run/tvirt-testbed",
    "/var/cache/tvirt-testbed",
    "/var/lib/tvirt-testbed",
    # Devices, kernel views and programs that every Linux system has.
    "/dev",
    "/proc",
    "/sys",
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/lib/modules",
    # The daemons' and apt's standard places, as Debian's packages lay them out.
    "/etc/libvirt",
    "/etc/ssh",
    "/run/libvirt",
    "/var/run/libvirt",
    "/var/lib/libvirt",
    "/var/log/libvirt",
    "/var/lib/glusterd",
    "/var/log/glusterfs",
    "/run/sshd",
    "/var/lib/apt/lists",
    # The lab's own places: scripts/lab.sh creates them and its down removes them.
    "/run/tvirt-lab",
    "/var/lib/tvirt-lab",
    # iproute2's places for named network namespaces, and the standard lock directory
    # (scripts/lab.sh gives each node its own).
    "/run/netns",
    "/etc/netns",
    "/run/lock",
    # Where Debian's bash-completion and zsh look for completion scripts (install.sh
    # puts tvirt's there).
    "/usr/share/bash-completion/completions",
    "/usr/local/share/zsh/site-functions",
    # root's ssh directory: scripts/testbed.sh adds (and removes) the test bed's key there.
    "/root/.ssh",
    # tvirt's own brick mount root (tvirt/bricks.py); the real brick test makes and undoes
    # its bricks under it.
    "/gluster_bricks",
    # Made-up places inside fixture data and inputs to pure functions; nothing opens them.
    "/guest",  # test:///default's built-in VM has its disk at /guest/diskimage1
    "/srv",
    "/mnt/p",
    "/mnt/x",
    "/export",
    "/lab",
    "/lab-pool",
    "/pool",
    "/isos",
    "/p/base",
    "/k",
    # Deliberately missing: a config file that does not exist.
    "/nonexistent",
)

# Only this exact path.
ALLOWED_EXACT = {
    # Keys typed into the dashboard's filter ("/", "s", "q"): text, not a path.
    "/sq",
    # System files the scripts and tests read or edit on purpose.
    "/etc/hosts",
    "/etc/fstab",
    "/run/libvirtd.pid",
    "/var/tmp",
    "/tmp",
    # Inside the tiny guest (build-guest.sh's /init, the tests' guest shell): its own
    # filesystem, not the host's.
    "/root",
    "/run",
    "/run/acpid.log",
    "/run/acpid.pid",
    "/tmp/mark",
    "/tmp/keys",
    "/boot",
    # Inside a lab node (scripts/lab.sh): pid files in the node's own /run.
    "/run/sshd.pid",
    "/run/glusterd.pid",
    # Made-up inputs to pure functions: a kernel, an initrd, an ISO.
    "/i",
    "/x.iso",
    # Made-up paths inside OSErrors that a pure function turns into sentences.
    "/mnt/small/out.img",
    "/a",
    "/b",
    # The path of a qemu URI, in the sentence that asks for one.
    "/system",
    "/session",
    # Bad input that must be refused, never created: injections and a bad pool target.
    "/tmp/tvirt-pwned",
    "/tmp/tvirt-test-pwned",
    "/tmp/x",
    # A fixed XDG state dir, so a snapshot names the same wipe log path on every machine;
    # the snapshot's step only shows the path, it writes nothing there.
    "/root/.local/state",
}


def allowed(path: str) -> bool:
    path = path.rstrip(".-/") or path  # a sentence's full stop, a "vmlinuz-*" glob
    return path in ALLOWED_EXACT or any(
        path == place or path.startswith(place + "/") for place in ALLOWED_PLACES
    )


def offending(text: str) -> list[str]:
    return [match.group() for match in PATH.finditer(text) if not allowed(match.group())]


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path != THIS_FILE:
                files.append(path)
    return files


def test_no_machine_specific_paths() -> None:
    found = []
    files = scanned_files()
    assert len(files) > 50, "the scan found too few files: wrong root?"
    for path in files:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # binary: no paths a person wrote
        for line_no, line in enumerate(text.splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{line_no}: {bad}" for bad in offending(line)]
    assert found == [], "paths only one machine has:\n" + "\n".join(found)


def test_the_scan_finds_machine_paths_and_passes_the_allowed() -> None:
    assert offending('TVIRT = "/tmp/venv/bin/tvirt"') == ["/tmp/venv/bin/tvirt"]
    assert offending("cd /work/main && ls /home/dev/x") == ["/work/main", "/home/dev/x"]
    assert offending("key=/root/id_ed25519") == ["/root/id_ed25519"]
    assert offending("'/opt/tools/bin/nc'") == ["/opt/tools/bin/nc"]
    # Allowed places, and things that are not paths at all.
    assert offending('Path("/run/tvirt-testbed/env"); /dev/loop0 /proc/1/status') == []
    assert offending("qemu:///system <name>x</name> &lt;/name&gt; $root/etc/passwd") == []
    assert offending("10.0.0.0/30, a /8 to /29 net; awk '/Candidate:/'") == []
