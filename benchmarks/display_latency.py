"""The live graphical display: key to visible change, frames per second and CPU.

Not a test: it prints tables and, with --write, puts them into docs/performance.md.

One TCG guest boots for the run with its shell on the VGA text console (as in
tests/test_display_real.py). Keys are typed into it one at a time, a letter then
Backspace, and the time until the VGA cell after the prompt changes (lit, then dark
again) is taken, each path on its own:
- the tvirt display tab, driven through Textual's Pilot: the key event enters the app's
  queue, goes out with sendKey, and the time ends when the tab has drawn a frame whose
  cell changed (its polling: a screenshot at once after the key, then every 0.1 s);
- the core alone (no UI): tvirt.ops.display's sendKey, then screenshots back to back;
- `virsh send-key` then `virsh screenshot` until the cell changed (a new process each).
Then the tab's frames per second and the process's CPU while the guest's screen changes
without pause (a shell loop printing), and while it is still (a blinking cursor).

Run: .venv/bin/python -m benchmarks.display_latency [--keys 50] [--ssh] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path

import libvirt
import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.console_latency import env, wrap, write_section  # noqa: E402
from benchmarks.harness import RTT_DELAY, proxied  # noqa: E402
from conftest import guest_xml  # noqa: E402
from tvirt.keymap import key_chord, text_chords  # noqa: E402
from tvirt.manager import HostManager  # noqa: E402
from tvirt.ops import display as display_ops  # noqa: E402
from tvirt.screenshot import decode  # noqa: E402

HEADING = "## Graphical display"
CELL_W, CELL_H = 9, 16
ROW, COLUMN = 0, 4  # after `clear`, the prompt "/ # " and then the first typed cell
LETTERS = "abcdefghij"
READY = b"Run /bin/sh as init process"
MEASURE = 10.0  # seconds of fps and CPU sampling
RTT = "qemu+ssh:// at a 20 ms round trip"


def lit(picture: Image.Image) -> bool:
    """Whether the cell after the prompt shows a glyph (its top 12 rows: the text cursor
    is the cell's bottom lines and blinks)."""
    box = (COLUMN * CELL_W, ROW * CELL_H, (COLUMN + 1) * CELL_W, ROW * CELL_H + 12)
    extrema = picture.convert("L").crop(box).getextrema()
    return bool(extrema[1] > 100)  # type: ignore[operator]


def boot(uri: str, name: str, values: dict[str, str]) -> libvirt.virDomain:
    conn = libvirt.open(uri)
    _undefine(conn, name)
    xml = (
        guest_xml(name, values["TVIRT_TEST_GUEST_KERNEL"], values["TVIRT_TEST_GUEST_INITRD"],
                  str(uuidlib.uuid4()))
        .replace("console=ttyS0 panic=1", "console=ttyS0 console=tty0 rdinit=/bin/sh panic=1")
        .replace("<devices>", "<devices><graphics type='vnc' autoport='yes' "
                 "listen='127.0.0.1'/><video><model type='vga'/></video>")
    )
    dom = conn.defineXML(xml)
    dom.create()
    stream = conn.newStream(0)
    dom.openConsole(None, stream, 0)
    seen = bytearray()
    end = time.monotonic() + 300
    while READY not in seen and time.monotonic() < end:
        data = stream.recv(4096)
        if not isinstance(data, bytes) or not data:
            break
        seen += data
    stream.abort()
    if READY not in seen:
        raise RuntimeError("the guest did not start its shell")
    return dom


def _undefine(conn: libvirt.virConnect, name: str) -> None:
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError:
        return
    if dom.isActive():
        dom.destroy()
    dom.undefine()


class Core:
    """The core's two calls on a host worker of their own."""

    def __init__(self, uri: str, uuid: str) -> None:
        self.manager = HostManager(lambda _u: None)
        self.worker = self.manager.add(uri)
        self.uuid = uuid

    def picture(self) -> Image.Image:
        return decode(display_ops.frame(self.worker, self.uuid).result(30))

    def type(self, text: str) -> None:
        chords, _skipped = text_chords(text)
        for batch in display_ops.batches(chords):
            display_ops.send_chords(self.worker, self.uuid, "bench", batch).result(30)

    def chord(self, chord: tuple[int, ...]) -> None:
        display_ops.send_chords(self.worker, self.uuid, "bench", [chord]).result(30)

    def wait(self, ready: Callable[[Image.Image], bool], timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while not ready(self.picture()):
            if time.monotonic() > end:
                raise RuntimeError("the screen did not change as expected")

    def clear(self) -> None:
        self.type("dmesg -n 1; clear\n")
        self.wait(lambda p: not lit(p))

    def stop(self) -> None:
        self.manager.stop()


def key_names(count: int) -> list[str]:
    """A letter, then Backspace, in turn: each one changes the measured cell."""
    return [LETTERS[(i // 2) % len(LETTERS)] if i % 2 == 0 else "backspace"
            for i in range(count)]


# -- the tab -----------------------------------------------------------------------
async def tab_run(uri: str, name: str, count: int, measure: bool) -> dict[str, object]:
    from textual import events

    from tui_helpers import until
    from tvirt.screens.app import TvirtApp
    from tvirt.screens.display import DisplayScreen

    app = TvirtApp(uris=[uri], stats=False)
    app.display_renderer = "halfblocks"
    out: dict[str, object] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: any(vm.name == name
                                       for vm in app.dashboard.table.vms.values()),
                    "the guest", 60)
        rows = app.dashboard.table
        key = next(vm.key for vm in rows.vms.values() if vm.name == name)
        rows.move_cursor(row=rows.get_row_index(key))
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, DisplayScreen), "displays")
        screen = app.screen
        assert isinstance(screen, DisplayScreen)
        pane = screen.active_pane()
        assert pane is not None
        await until(pilot, lambda: pane.picture is not None, "a picture", 60)
        await pilot.press("i")
        samples = []
        for key_name in key_names(count):
            before = pane.picture
            assert before is not None
            was = lit(before)
            start = time.perf_counter()
            # As a terminal's key would come: through the driver's queue.
            event = events.Key(key_name, key_name if len(key_name) == 1 else None)
            event.set_sender(app)
            app._driver.send_message(event)  # type: ignore[union-attr]
            checked: Image.Image | None = before
            while True:
                await asyncio.sleep(0.001)
                if pane.picture is not checked:  # only a newly drawn picture is read
                    checked = pane.picture
                    if checked is not None and lit(checked) != was:
                        break
                if time.perf_counter() - start > 10:
                    raise RuntimeError("no change through the tab")
            samples.append(time.perf_counter() - start)
        out["keys"] = samples
        if measure:
            out.update(await _fps_and_cpu(pilot, pane))
    return out


async def _fps_and_cpu(pilot: object, pane: object) -> dict[str, object]:
    from textual.pilot import Pilot

    from tvirt.screens.display import DisplayPane

    assert isinstance(pilot, Pilot) and isinstance(pane, DisplayPane)
    me = psutil.Process()
    figures: dict[str, object] = {}
    # Changing without pause: the shell prints numbers for a while. (Ctrl+C cannot stop
    # it: the shell is the first process, without a controlling terminal.)
    pane.type_text(f"timeout {MEASURE + 5:.0f} sh -c 'while :; do echo $RANDOM; done'\n")
    await pilot.pause(3.0)
    figures["changing"] = await _sample(pilot, pane, me)
    await pilot.pause(3.0)  # the loop ends
    pane.type_text("clear\n")
    await pilot.pause(4.0)  # the pace falls back to still after two seconds
    figures["still"] = await _sample(pilot, pane, me)
    return figures


async def _sample(pilot: object, pane: object, me: psutil.Process) -> tuple[float, float, float]:
    """(frames drawn per second, screenshots taken per second, CPU % of one core)."""
    from textual.pilot import Pilot

    from tvirt.screens.display import DisplayPane

    assert isinstance(pilot, Pilot) and isinstance(pane, DisplayPane)
    # Drawn: pictures the screen drew (a frame that came while a draw was pending and
    # was replaced by a newer one is not counted).
    drawn, taken = pane.painted, pane.pacer.frames
    cpu = me.cpu_times()
    start = time.perf_counter()
    await pilot.pause(MEASURE)
    span = time.perf_counter() - start
    used = sum(me.cpu_times()[:2]) - sum(cpu[:2])
    return ((pane.painted - drawn) / span, (pane.pacer.frames - taken) / span,
            100 * used / span)


# -- the core alone ------------------------------------------------------------------
def core_latencies(core: Core, count: int) -> list[float]:
    samples = []
    for key_name in key_names(count):
        was = lit(core.picture())
        chord = key_chord(key_name, key_name if len(key_name) == 1 else None)
        assert chord is not None
        start = time.perf_counter()
        core.chord(chord)
        core.wait(lambda picture: lit(picture) != was, 10)  # noqa: B023 - used at once
        samples.append(time.perf_counter() - start)
    return samples


# -- virsh -----------------------------------------------------------------------------
def virsh_latencies(uri: str, name: str, core: Core, count: int) -> list[float]:
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        shot = os.path.join(tmp, "screen.ppm")

        def picture() -> Image.Image:
            subprocess.run(["virsh", "-q", "-c", uri, "screenshot", name, shot],
                           check=True, capture_output=True)
            with Image.open(shot) as opened:
                return opened.convert("RGB")

        for key_name in key_names(count):
            was = lit(core.picture())
            code = "KEY_BACKSPACE" if key_name == "backspace" else f"KEY_{key_name.upper()}"
            start = time.perf_counter()
            subprocess.run(["virsh", "-q", "-c", uri, "send-key", name, code],
                           check=True, capture_output=True)
            while lit(picture()) == was:
                if time.perf_counter() - start > 10:
                    raise RuntimeError("no change through virsh")
            samples.append(time.perf_counter() - start)
    return samples


def table(results: dict[str, list[float]], baseline: str) -> str:
    base = statistics.median(results[baseline])
    rows = [
        "| path | keys | median | p90 | ratio to virsh |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, samples in results.items():
        med = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        rows.append(f"| {label} | {len(samples)} | {med * 1000:.0f} ms | "
                    f"{p90 * 1000:.0f} ms | {med / base:.2f}x |")
    return "\n".join(rows)


def rate_table(figures: dict[str, object]) -> str:
    rows = ["| guest screen | frames drawn/s | screenshots/s | app CPU (one core) |",
            "| --- | --- | --- | --- |"]
    for label, key in (("changing without pause", "changing"), ("still (cursor blinks)",
                                                                 "still")):
        sample = figures[key]
        assert isinstance(sample, tuple)
        drawn, taken, cpu = sample
        rows.append(f"| {label} | {drawn:.1f} | {taken:.1f} | {cpu:.0f} % |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--ssh", action="store_true", help="also the tab over qemu+ssh://")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    values = env()
    uri = values["TVIRT_TEST_QEMU_URI"]
    name = f"tvirt-bench-display-{os.getpid()}"
    dom = boot(uri, name, values)
    core = Core(uri, dom.UUIDString())
    try:
        core.clear()
        local = asyncio.run(tab_run(uri, name, args.keys, measure=True))
        results: dict[str, list[float]] = {
            "tvirt display tab, qemu:///system": local["keys"],  # type: ignore[dict-item]
        }
        if args.ssh:
            core.clear()
            over = asyncio.run(tab_run(values["TVIRT_TEST_SSH_URI"], name, args.keys, False))
            results["tvirt display tab, qemu+ssh://"] = over["keys"]  # type: ignore[assignment]
            # The same through the delay proxy: a 20 ms round trip, the tab against virsh.
            with proxied(RTT_DELAY) as port:
                far = f"qemu+ssh://root@127.0.0.1:{port}/system?no_tty=1"
                core.clear()
                slow = asyncio.run(tab_run(far, name, args.keys, False))
                results[f"tvirt display tab, {RTT}"] = slow["keys"]  # type: ignore[assignment]
                core.clear()
                results[f"virsh send-key, then virsh screenshot, {RTT}"] = virsh_latencies(
                    far, name, core, args.keys)
        core.clear()
        results["tvirt core (sendKey, then screenshots back to back)"] = core_latencies(
            core, args.keys)
        core.clear()
        results["virsh send-key, then virsh screenshot until changed"] = virsh_latencies(
            uri, name, core, args.keys)
    finally:
        core.stop()
        conn = libvirt.open(uri)
        _undefine(conn, name)
        conn.close()
    keys_text = table(results, "virsh send-key, then virsh screenshot until changed")
    rates_text = rate_table(local)
    print(keys_text)
    print()
    print(rates_text)
    if args.write:
        intro = (
            "`benchmarks/display_latency.py` boots the tiny TCG guest with its shell on the "
            "VGA text console and types, one at a time, a letter then Backspace, timing each "
            "key until the cell after the prompt has changed in a screenshot "
            f"({time.strftime('%Y-%m-%d')}, {args.keys} keys per path, on a 2-CPU test VM "
            "shared with other work):"
        )
        notes = (
            "The tab's figure starts when the key event enters the app's queue and ends when "
            "the tab has drawn the changed frame; it takes a screenshot at once after a key "
            "and then every 0.1 s, so a change the guest draws just after a screenshot waits "
            "for the next. `virsh` starts a process (and a connection) for every key and "
            "every screenshot. Then the tab's pace, and the CPU of the process running the "
            f"app (headless, half blocks), over {MEASURE:g} s each:"
        )
        section = (f"{HEADING}\n\n{wrap(intro)}\n\n{keys_text}\n\n{wrap(notes)}\n\n"
                   f"{rates_text}\n")
        write_section(section, HEADING)
        print("Updated docs/performance.md")


if __name__ == "__main__":
    main()

