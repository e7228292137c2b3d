"""Shared fixtures: the real test bed started by scripts/testbed.sh, and a shared guest."""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tvirt.inventory import Inventory
from tvirt.ops.hostcmd import CommandHost
from tvirt.updates import Update

ENV_FILE = Path("/run/tvirt-testbed/env")

# Tests never touch the user's own config, logs or transcripts: point the XDG dirs
# (which platformdirs follows) at a directory of this test run. Child processes inherit it.
_XDG = Path(tempfile.mkdtemp(prefix="tvirt-tests-xdg-"))
atexit.register(shutil.rmtree, _XDG, True)
for _name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
    os.environ[_name] = str(_XDG / _name.lower())
FIXTURES = Path(__file__).parent / "fixtures"


def tvirt_bin() -> str:
    """The installed `tvirt` command: the console script next to the interpreter running
    the tests (.venv/bin/tvirt after scripts/install.sh), never a path of one machine."""
    return str(Path(sys.executable).parent / "tvirt")


ALLOW_MISSING = "TVIRT_TESTS_ALLOW_MISSING"


def need(reason: str) -> None:
    """A real component is missing: the test fails and says which.

    A run that skipped instead would pass without testing anything real. For development
    only, TVIRT_TESTS_ALLOW_MISSING=1 turns the failure into a skip; never under CI=true,
    which scripts/test.sh (the test command) sets itself.
    """
    if os.environ.get(ALLOW_MISSING) == "1" and os.environ.get("CI") != "true":
        pytest.skip(reason)
    pytest.fail(
        f"A real component is missing: {reason} (for development only, "
        f"{ALLOW_MISSING}=1 skips such tests instead)"
    )


class Recorder:
    """A sink that keeps every update and an Inventory built from them."""

    def __init__(self) -> None:
        self.inventory = Inventory()
        self.updates: list[Update] = []

    def __call__(self, update: Update) -> None:
        self.updates.append(update)
        self.inventory.apply(update)


@dataclass(frozen=True)
class Testbed:
    __test__ = False  # not a test class, despite the name

    qemu_uri: str
    ssh_uri: str
    ssh_port: int
    guest_kernel: str
    guest_initrd: str
    gluster_volume: str
    gluster_host: str


@pytest.fixture(scope="session")
def testbed() -> Testbed:
    if not ENV_FILE.exists():
        need(f"{ENV_FILE} is missing; run scripts/testbed.sh up")
    values: dict[str, str] = {}
    for line in ENV_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    for path in (
        values.get("TVIRT_TEST_GUEST_KERNEL", ""),
        values.get("TVIRT_TEST_GUEST_INITRD", ""),
    ):
        if not path or not Path(path).exists():
            need(f"guest image {path!r} is missing")
    return Testbed(
        qemu_uri=values["TVIRT_TEST_QEMU_URI"],
        ssh_uri=values["TVIRT_TEST_SSH_URI"],
        ssh_port=int(values["TVIRT_TEST_SSH_PORT"]),
        guest_kernel=values["TVIRT_TEST_GUEST_KERNEL"],
        guest_initrd=values["TVIRT_TEST_GUEST_INITRD"],
        gluster_volume=values["TVIRT_TEST_GLUSTER_VOLUME"],
        gluster_host=values["TVIRT_TEST_GLUSTER_HOST"],
    )


LAB_ENV_FILE = Path("/run/tvirt-lab/env")


@dataclass(frozen=True)
class LabNode:
    name: str
    address: str
    uri: str
    loops: tuple[str, ...]
    holder: int  # the pid holding the node's namespaces: /proc/HOLDER/root is its files
    veth: str  # the main namespace's end of the node's link to the lab's bridge
    # The node's libvirtd socket, reachable from the main namespace.
    socket: str

    @property
    def local_uri(self) -> str:
        """The node's daemon through its socket: no ssh, and the URI names no host."""
        return f"qemu:///system?socket={self.socket}"


@dataclass(frozen=True)
class Lab:
    nodes: tuple[LabNode, ...]
    gluster_volume: str
    guest_kernel: str
    guest_initrd: str
    config: str


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The three-host lab of scripts/lab.sh (each node its own namespaces and daemons)."""
    if not LAB_ENV_FILE.exists():
        need(f"{LAB_ENV_FILE} is missing; run scripts/lab.sh up")
    values: dict[str, str] = {}
    for line in LAB_ENV_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    nodes = []
    for index, name in enumerate(values["TVIRT_LAB_NODES"].split(","), start=1):
        prefix = f"TVIRT_LAB_NODE{index}_"
        nodes.append(
            LabNode(
                name=name,
                address=values[prefix + "ADDR"],
                uri=values[prefix + "URI"],
                loops=tuple(d for d in values[prefix + "LOOPS"].split(",") if d),
                socket=values[prefix + "SOCKET"],
                holder=int(values[prefix + "HOLDER"]),
                # "" in an env file written before lab.sh wrote this key.
                veth=values.get(prefix + "VETH", ""),
            )
        )
    return Lab(
        nodes=tuple(nodes),
        gluster_volume=values["TVIRT_LAB_GLUSTER_VOLUME"],
        guest_kernel=values["TVIRT_LAB_GUEST_KERNEL"],
        guest_initrd=values["TVIRT_LAB_GUEST_INITRD"],
        config=values["TVIRT_LAB_CONFIG"],
    )


def guest_xml(name: str, kernel: str, initrd: str, uuid: str | None = None) -> str:
    """The tiny TCG guest: a Debian cloud kernel and a busybox shell on ttyS0."""
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid or uuidlib.uuid4()}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 panic=1</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>"""


@pytest.fixture(scope="session")
def guest(testbed: Testbed) -> Iterator[str]:
    """One shut-off guest defined for the whole session, shared by the tests that boot it.

    Tests may start and stop it; each leaves it shut off. It is undefined at the end.
    """
    import libvirt

    # Unique per session, so two test runs on one machine never undefine each other's guest.
    name = f"tvirt-test-guest-{os.getpid()}"
    _remove_domain(testbed.qemu_uri, name)
    conn = libvirt.open(testbed.qemu_uri)
    try:
        conn.defineXML(guest_xml(name, testbed.guest_kernel, testbed.guest_initrd))
    finally:
        conn.close()
    yield name
    # A fresh connection: a test may have restarted libvirtd under the old one.
    _remove_domain(testbed.qemu_uri, name)


def _remove_domain(uri: str, name: str) -> None:
    import libvirt

    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByName(name)
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    except libvirt.libvirtError:
        pass  # not defined: nothing to remove
    finally:
        conn.close()


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Poll until predicate() is true; fail with a description otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")


@pytest.fixture
def node_xml(tmp_path: Path) -> Callable[[int], str]:
    """Write a test-driver node with N VMs (alternating running/shut off); return its URI."""

    def make(count: int) -> str:
        domains = []
        for i in range(count):
            state = 1 if i % 2 == 0 else 5
            domains.append(
                f"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
                f"<name>vm{i:04d}</name><uuid>{uuidlib.UUID(int=i + 1)}</uuid>"
                f"<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                f"<test:runstate>{state}</test:runstate></domain>"
            )
        path = tmp_path / f"node{count}.xml"
        path.write_text(
            "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores>"
            "<threads>1</threads><mhz>2000</mhz></cpu><memory>8388608</memory>"
            + "".join(domains)
            + "</node>"
        )
        return f"test://{path}"

    return make


def _ops_worker(
    request: pytest.FixtureRequest, node_xml: Callable[[int], str], readonly: bool
) -> Iterator[Any]:
    """A connected, listed host worker for the operation tests: on the module's OPS_URI,
    or a two-VM test node."""
    from ops_hosts import opened  # ops_hosts imports this module

    uri = getattr(request.module, "OPS_URI", "") or node_xml(2)
    with opened(uri, readonly=readonly) as host:
        yield host.worker


@pytest.fixture
def host(request: pytest.FixtureRequest, node_xml: Callable[[int], str]) -> Iterator[Any]:
    yield from _ops_worker(request, node_xml, False)


@pytest.fixture
def readonly_host(
    request: pytest.FixtureRequest, node_xml: Callable[[int], str]
) -> Iterator[Any]:
    yield from _ops_worker(request, node_xml, True)


LIBVIRTD_PIDFILE = Path("/run/libvirtd.pid")
TESTBED_LIBVIRTD_RECORD = Path("/run/tvirt-testbed/libvirtd.started")


def libvirtd_pid() -> int | None:
    """The running libvirtd's pid from its pid file (pidof also sees its forked helpers)."""
    try:
        pid = int(LIBVIRTD_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def stop_libvirtd() -> int:
    """SIGTERM the running libvirtd and wait until it is gone; returns its pid."""
    pid = libvirtd_pid()
    assert pid is not None, "libvirtd is not running"
    subprocess.run(["kill", "-TERM", str(pid)], check=True)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, "libvirtd to exit")
    return pid


def start_libvirtd(old_pid: int | None = None) -> None:
    """Start libvirtd again if none runs; if the test bed owned the old one, it owns this."""
    if libvirtd_pid() is None:
        subprocess.run(["libvirtd", "-d"], check=True)
    wait_for(lambda: libvirtd_pid() not in (None, old_pid), 30, "a new libvirtd")
    new_pid = libvirtd_pid()
    if TESTBED_LIBVIRTD_RECORD.exists() and TESTBED_LIBVIRTD_RECORD.read_text().strip() == str(
        old_pid
    ):
        TESTBED_LIBVIRTD_RECORD.write_text(f"{new_pid}\n")
    wait_for(
        lambda: subprocess.run(
            ["virsh", "-c", "qemu:///system", "list"], capture_output=True
        ).returncode == 0,
        30,
        "libvirtd to answer",
    )


@pytest.fixture
def snap_compare(snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    """pytest-textual-snapshot's snap_compare, with blinking cursors held still before the
    picture is taken (tui_helpers.hold_still), so it is the same however loaded the machine."""
    from tui_helpers import hold_still

    def compare(app: Any, *args: Any, run_before: Any = None, **kwargs: Any) -> bool:
        async def run(pilot: Any) -> None:
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            hold_still(pilot.app)

        return snap_compare(app, *args, run_before=run, **kwargs)

    return compare


# ----- hosts that run commands (Gluster, disks, wipes, bricks) -----------------------------
LocalHost = Callable[..., CommandHost]


@pytest.fixture
def local_host(testbed: Testbed) -> Iterator[LocalHost]:
    """local_host(readonly=False): this machine as the Gluster and disk operations see it
    (tvirt.ops.hostcmd.CommandHost): local commands and a connected worker on the test
    bed's qemu:///system. Every manager made is stopped afterwards."""
    import socket

    from tvirt.manager import HostManager
    from tvirt.remote import Runner

    managers: list[HostManager] = []

    def make(readonly: bool = False) -> CommandHost:
        rec = Recorder()
        manager = HostManager(rec, readonly=readonly)
        managers.append(manager)
        worker = manager.add(testbed.qemu_uri)
        wait_for(lambda: testbed.qemu_uri in rec.inventory.listed, 30, "the local host")
        return CommandHost(
            worker.label,
            Runner("localhost"),
            worker,
            readonly=readonly,
            gluster_host=socket.gethostname(),
            uri=testbed.qemu_uri,
        )

    yield make
    for manager in managers:
        manager.stop()


@pytest.fixture
def ext4_loop(tmp_path: Path) -> Iterator[str]:
    """A 64 MiB loop device this test made, with an ext4 signature (safe to wipe: nothing
    mounts it); detached afterwards, never anyone else's."""
    from loopdevs import have, loop_devices, sh

    if missing := have("losetup", "mkfs.ext4", "lsblk", "wipefs"):
        need(missing)
    with loop_devices(tmp_path) as (loop,):
        sh("mkfs.ext4", "-q", loop)
        yield loop


@contextmanager
def dir_pool(conn: Any, name: str, directory: Path) -> Iterator[str]:
    """A dir pool of the test's own in directory, built; stopped and undefined afterwards
    (quietly when defining it failed halfway)."""
    import libvirt

    from tvirt import storage

    try:
        storage.pool_define(conn, storage.PoolSpec("dir", name, target=str(directory)),
                            build=True)
        yield name
    finally:
        try:
            pool = conn.storagePoolLookupByName(name)
            if pool.isActive():
                pool.destroy()
            pool.undefine()
        except libvirt.libvirtError:
            pass  # never defined

