"""virt-manager on the fifty-host URIs: every URI in its saved connection list, set to
autoconnect (a private GSettings keyfile, so nothing of the user's is read or written),
launched under Xvfb with --debug; its stderr's `domain=NAME ... added` lines are counted
as they arrive, up to a time cap. Its CPU (with its ssh children) and peak RSS are read
over the last 30 s of the cap, whatever it reached by then.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.harness import cpu_seconds, peak_rss_mib
from benchmarks.peer_virt_manager import ADDED, _stop, available, xvfb


def _keyfile(home: Path, uris: list[str]) -> None:
    settings = home / "config" / "glib-2.0" / "settings"
    settings.mkdir(parents=True)
    listed = ", ".join(f"'{uri}'" for uri in uris)
    (settings / "keyfile").write_text(
        "[org/virt-manager/virt-manager/connections]\n"
        f"uris=[{listed}]\nautoconnect=[{listed}]\n"
    )


def report(uris: list[str], vms: int, cap: float = 180, window: float = 30) -> str:
    """A markdown table row set, or a sentence saying why virt-manager could not run."""
    if missing := available():
        return f"virt-manager could not be run: {missing}.\n"
    total = len(uris) * vms
    added: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tvirt-peer-") as tmp, xvfb() as (display, _):
        home = Path(tmp)
        _keyfile(home, uris)
        env = {**os.environ, "DISPLAY": display, "GSETTINGS_BACKEND": "keyfile",
               "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
               "NO_AT_BRIDGE": "1"}
        started = time.perf_counter()
        proc = subprocess.Popen(["virt-manager", "--no-fork", "--debug"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, errors="replace")

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if ADDED.search(line.rstrip("\n")):
                    added.append(time.perf_counter() - started)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            import psutil

            me = psutil.Process(proc.pid)
            while time.perf_counter() - started < cap - window and len(added) < total:
                time.sleep(1)
            cpu0, t0 = cpu_seconds(me), time.monotonic()
            time.sleep(window)
            cpu = 100 * (cpu_seconds(me) - cpu0) / (time.monotonic() - t0)
            rss = peak_rss_mib(me)
        finally:
            _stop(proc)
            reader.join(5)
    done = len(added)
    reached = (f"all {total} VMs added after {added[total - 1]:.1f} s" if done >= total
               else f"{done} of {total} VMs added within its {cap:g} s cap")
    return (
        "| figure (virt-manager under Xvfb, same URIs, same run) | virt-manager |\n"
        "| --- | --- |\n"
        f"| VMs in its list | {reached} |\n"
        f"| CPU % of one core over the last {window:g} s (with its ssh children) | {cpu:.1f} |\n"
        f"| peak RSS, MiB | {rss:.0f} |\n"
    )
