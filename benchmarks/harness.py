"""Shared pieces for the benchmarks: the test bed's ssh, scale hosts, a pty screen."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pyte

ENV_FILE = Path("/run/tvirt-testbed/env")
# The `tvirt` installed next to the interpreter running the benchmark (.venv/bin/python).
TVIRT = str(Path(sys.executable).parent / "tvirt")


def testbed() -> dict[str, str]:
    if not ENV_FILE.exists():
        raise SystemExit("The test bed is not up: run `bash scripts/testbed.sh up` first.")
    pairs = (line.partition("=") for line in ENV_FILE.read_text().splitlines())
    return {key: value for key, sep, value in pairs if sep}


@contextlib.contextmanager
def known_port(port: int) -> Iterator[None]:
    """Let ssh accept the test bed's sshd behind a proxy port (same host key, new port)."""
    path = Path(testbed()["TVIRT_TEST_SSH_KNOWN_HOSTS"])
    ssh_port = testbed()["TVIRT_TEST_SSH_PORT"]
    original = path.read_text()
    ours = [
        line.replace(f"[127.0.0.1]:{ssh_port}", f"[127.0.0.1]:{port}", 1)
        for line in original.splitlines()
        if line.startswith(f"[127.0.0.1]:{ssh_port} ")
    ]
    path.write_text(original + "".join(f"{line}\n" for line in ours))
    try:
        yield
    finally:
        path.write_text(original)


@contextlib.contextmanager
def scale_node(count: int) -> Iterator[Path]:
    """A test-driver node file with `count` VMs, half running."""
    with tempfile.TemporaryDirectory(prefix="tvirt-bench-", dir="/var/tmp") as tmp:
        domains = "".join(
            "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
            f"<name>vm{i:04d}</name><uuid>{uuid.UUID(int=i + 1)}</uuid>"
            "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
            f"<test:runstate>{1 if i % 2 == 0 else 5}</test:runstate></domain>"
            for i in range(count)
        )
        path = Path(tmp) / f"node{count}.xml"
        path.write_text(
            "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
            f"<mhz>2000</mhz></cpu><memory>8388608</memory>{domains}</node>"
        )
        os.chmod(tmp, 0o755)
        yield path


def ssh_test_uri(port: int, node: Path) -> str:
    return f"test+ssh://root@127.0.0.1:{port}{node}?no_tty=1"


RTT_DELAY = 0.010  # each way: a 20 ms round trip


@contextlib.contextmanager
def proxied(delay: float = RTT_DELAY) -> Iterator[int]:
    """The test bed's sshd behind a delaying proxy (delay each way), its port known to ssh."""
    from benchmarks.delay_proxy import DelayProxy

    with DelayProxy(int(testbed()["TVIRT_TEST_SSH_PORT"]), delay) as proxy, \
            known_port(proxy.port):
        yield proxy.port


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of a process and all its children (an ssh tunnel counts too)."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child may exit while we look
            times = p.cpu_times()
            total += times.user + times.system
    return total


def peak_rss_mib(proc: psutil.Process) -> float:
    """VmHWM: the peak resident size the kernel recorded for the process."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_quiet(argv: list[str], timeout: float = 300) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=timeout)


class PtyApp:
    """Runs a full-screen program in a pty and keeps a pyte screen of what it drew."""

    def __init__(self, argv: list[str], cols: int = 120, rows: int = 40,
                 env: dict[str, str] | None = None) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.started = time.perf_counter()
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols),
                    "LINES": str(rows), **(env or {})}
        pid, fd = pty.fork()
        if pid == 0:
            os.execvpe(argv[0], argv, full_env)
        self.pid, self.fd = pid, fd
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.bytes_read = 0

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def pump(self, timeout: float) -> int:
        """Read whatever arrives within timeout; returns the number of bytes."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return 0
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return 0
        self.bytes_read += len(data)
        self.stream.feed(data)
        return len(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, needle: str, timeout: float) -> float:
        """Seconds from launch until needle is on screen."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.pump(0.05)
            if needle in self.text():
                return time.perf_counter() - self.started
        raise TimeoutError(f"'{needle}' never appeared; screen:\n{self.text()}")

    def wait_gone(self, needle: str, timeout: float) -> float:
        """Seconds from launch until needle is no longer on screen."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.pump(0.05)
            if needle not in self.text():
                return time.perf_counter() - self.started
        raise TimeoutError(f"'{needle}' stayed on screen; screen:\n{self.text()}")

    def close(self, wait: float = 5) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, b"q")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
            self.pump(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)
