"""Parts of screen-reader mode the pty walk (test_screen_reader_walk.py) does not reach:
progress lines, checkboxes in words, the VM table's spoken order, on the real app
(Textual's pilot) with and without the mode, so the normal layout stays as it was."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Checkbox, Static

from tvirt import progress
from tvirt.screens.app import TvirtApp
from tvirt.screens.progress import ProgressPanel, spoken_percent
from tvirt.screens.vm_table import SPOKEN_ORDER, VMTable


class PanelScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield ProgressPanel(id="work")
        yield Checkbox("Also remove storage", id="box")


def app(reader: bool) -> TvirtApp:
    # No host: the demo URI list is empty, so nothing connects while the parts are tried.
    return TvirtApp([], screen_reader=reader, stats=False)


def lines_seen(reader: bool) -> list[str]:
    """Feed a transfer's events, one a second of its own clock for 12 s, and collect
    every distinct text the panel's line showed."""
    seen: list[str] = []

    async def run() -> None:
        tvirt = app(reader)
        async with tvirt.run_test() as pilot:
            await tvirt.push_screen(PanelScreen())
            panel = tvirt.screen.query_one(ProgressPanel)
            text = panel.query_one(Static)
            panel.show(progress.Started("big.img", "uploaded", 100 * 2**20))
            for second in range(13):
                done = (second + 1) * 7 * 2**20
                panel.show(progress.Advanced(done, 100 * 2**20, elapsed=float(second)))
                await pilot.pause()
                words = str(text.render())
                if words and (not seen or seen[-1] != words):
                    seen.append(words)

    import asyncio

    asyncio.run(run())
    return seen


def test_progress_line_changes_at_most_every_five_seconds_with_percent_in_words() -> None:
    seen = lines_seen(reader=True)
    # Seconds 0, 5 and 10 of the operation's clock: three lines in 13 events.
    assert len(seen) == 3, seen
    assert all(" percent)" in line and "%" not in line for line in seen), seen


def test_progress_line_follows_every_event_without_the_mode() -> None:
    seen = lines_seen(reader=False)
    assert len(seen) == 13, seen
    assert all("%)" in line for line in seen), seen


def test_spoken_percent() -> None:
    assert spoken_percent("big.img: uploaded 1 GiB of 8 GiB (12%).") == (
        "big.img: uploaded 1 GiB of 8 GiB (12 percent)."
    )


async def test_checkbox_says_on_or_off_in_words_only_in_the_mode() -> None:
    for reader, off, on in ((True, "[off]", "[on]"), (False, "", "")):
        tvirt = app(reader)
        async with tvirt.run_test() as pilot:
            await tvirt.push_screen(PanelScreen())
            box = tvirt.screen.query_one(Checkbox)
            before = str(box.render())
            box.value = True
            await pilot.pause()
            after = str(box.render())
            if reader:
                assert before.startswith(off) and after.startswith(on), (before, after)
            else:
                assert "[off]" not in before and "[on]" not in after, (before, after)


async def test_vm_table_reads_name_state_host_then_the_rest() -> None:
    for reader in (True, False):
        tvirt = app(reader)
        async with tvirt.run_test() as pilot:
            await pilot.pause()
            table = tvirt.screen.query_one(VMTable)
            keys = [str(column.key.value) for column in table.ordered_columns]
            if reader:
                assert tuple(keys) == SPOKEN_ORDER
                assert not table.show_header
                assert table.reader_header().startswith(
                    "Columns: Name, State, Host, vCPUs, Memory, CPU, Autostart, Mark. "
                    "State: all; sorted by name, ascending"
                )
            else:
                assert keys[:3] == ["name", "state", "mark"] and "trend" in keys
                assert table.show_header
