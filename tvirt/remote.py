"""Run argv lists on the host behind a libvirt connection: locally, or over the system ssh.

The local machine serves ``qemu:///system``; ``qemu+ssh://user@host:port/...?keyfile=K``
runs the same argv over ``ssh -o BatchMode=yes`` with host keys checked as configured (never
disabled). Every argument is quoted with shlex.quote for the remote shell, so names with
spaces, quotes, ``$()`` or ``;`` reach the command unchanged and are never interpreted.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tvirt import sshmux
from tvirt.errors import TvirtError
from tvirt.uri import ParsedURI, parse_uri

DEFAULT_TIMEOUT = 120.0


class RemoteError(TvirtError, RuntimeError):
    """A command could not be started or did not finish; one sentence."""


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    host: str
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()

    def sentence(self) -> str:
        """What failed, in one sentence, for the error line or the log."""
        detail = self.err.splitlines()[-1] if self.err else f"exit status {self.returncode}"
        return f"{shlex.join(self.argv)} failed on {self.host}: {detail}"


@dataclass(frozen=True)
class Runner:
    """Runs argv lists on one host. ``ssh_prefix`` is empty for the local machine."""

    host: str
    ssh_prefix: tuple[str, ...] = ()

    @property
    def remote(self) -> bool:
        return bool(self.ssh_prefix)

    def command(self, argv: Sequence[str]) -> list[str]:
        """The argv actually executed here: the command itself, or ssh plus a quoted line."""
        if not argv:
            raise ValueError("empty command")
        if not self.ssh_prefix:
            return list(argv)
        prefix = sshmux.apply(self.ssh_prefix)  # the sharing setting as it is now
        if sshmux.shared(prefix):
            sshmux.remember(prefix)  # this command may start the host's master
        # ssh joins its trailing arguments with spaces and hands them to the remote shell,
        # so one quoted string is the only safe form.
        return [*prefix, "--", shlex.join(argv)]

    def display(self, argv: Sequence[str]) -> str:
        """The command as a person would type it on that host (for dry runs and logs)."""
        return shlex.join(argv)

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Result:
        try:
            done = subprocess.run(
                self.command(argv),
                input=input,
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise RemoteError(f"{exc.filename} is not installed on {self._where()}.") from None
        except subprocess.TimeoutExpired:
            raise RemoteError(
                f"{shlex.join(argv)} did not finish on {self.host} within {timeout:g} s."
            ) from None
        result = Result(tuple(argv), self.host, done.returncode, done.stdout, done.stderr)
        if self.ssh_prefix and done.returncode == 255:
            raise RemoteError(f"ssh to {self.host} failed: {result.err or 'no answer'}.")
        return result

    def stream(
        self,
        argv: Sequence[str],
        on_text: Callable[[str], None],
        *,
        timeout: float | None = None,
    ) -> Result:
        """Run and hand stderr to on_text piece by piece (\\r or \\n ended), for progress."""
        try:
            proc = subprocess.Popen(
                self.command(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise RemoteError(f"{exc.filename} is not installed on {self._where()}.") from None
        assert proc.stderr is not None and proc.stdout is not None
        err = bytearray()
        piece = bytearray()
        while chunk := os.read(proc.stderr.fileno(), 4096):
            err += chunk
            for byte in chunk:
                if byte in (10, 13):
                    if piece:
                        on_text(piece.decode("utf-8", "replace"))
                    piece.clear()
                else:
                    piece.append(byte)
        if piece:
            on_text(piece.decode("utf-8", "replace"))
        out = proc.stdout.read()
        code = proc.wait(timeout)
        return Result(tuple(argv), self.host, code, out, bytes(err))

    def _where(self) -> str:
        return "this machine" if not self.ssh_prefix else "this machine (ssh)"


def ssh_prefix(uri: ParsedURI) -> tuple[str, ...]:
    """ssh options for the connection's user, host, port and keyfile. BatchMode so ssh never
    prompts; host-key checking is left as the user's ssh config has it. One connection per
    host is shared by every command (tvirt.sshmux), unless sharing is off."""
    argv = ["ssh", "-o", "BatchMode=yes", "-T"]
    if uri.port:
        argv += ["-p", str(uri.port)]
    keyfile = parse_qs(urlsplit(uri.uri).query).get("keyfile")
    if keyfile:
        argv += ["-i", keyfile[0]]
    argv += sshmux.options()
    argv.append(f"{uri.user}@{uri.host}" if uri.user else uri.host)
    return tuple(argv)


def runner_for(uri: str | ParsedURI) -> Runner:
    """The Runner for the host behind a libvirt URI."""
    parsed = parse_uri(uri) if isinstance(uri, str) else uri
    if not parsed.remote:
        return Runner("localhost")
    if not parsed.uses_ssh:
        raise RemoteError(
            f"Commands on {parsed.host} need an ssh connection (qemu+ssh://), "
            f"not {parsed.transport}."
        )
    return Runner(parsed.host, ssh_prefix(parsed))
