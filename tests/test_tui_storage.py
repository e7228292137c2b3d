"""The storage view and its wizards, on the private lab node of the test driver.

Snapshots: the storage view and every step of both wizards. Pilot: bad input for every
wizard field is refused with a sentence on the same step and creates nothing; a volume
in use is not deleted or wiped without a second thought.
Regenerate with `pytest tests/test_tui_storage.py --snapshot-update` and review them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from test_tui_snapshots import LAB, SIZE, loaded, until
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from tui_helpers import settled
from tvirt import storage
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.form import FormDialog
from tvirt.screens.pool_wizard import PoolWizard
from tvirt.screens.storage import StorageScreen
from tvirt.screens.wizard import FieldWizard as Wizard

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def open_storage(pilot: Pilot[int]) -> StorageScreen:
    await loaded(pilot)
    await pilot.press("S")
    await until(pilot, lambda: isinstance(pilot.app.screen, StorageScreen), "storage view")
    screen = pilot.app.screen
    assert isinstance(screen, StorageScreen)
    await settled(pilot, lambda: screen.volumes, "the lab pool's volumes")
    return screen


async def open_wizard(pilot: Pilot[int], key: str) -> Wizard[object]:
    await open_storage(pilot)
    await pilot.press(key)
    await settled(pilot, lambda: isinstance(pilot.app.screen, Wizard), "the wizard")
    wizard = pilot.app.screen
    assert isinstance(wizard, Wizard)
    return wizard


def step_id(wizard: Wizard[object]) -> str:
    return wizard.current_step.id


async def answer(pilot: Pilot[int], wizard: Wizard[object], text: str | None) -> None:
    """Type text into the step's field (None: take the highlighted choice) and press enter."""
    if text is not None:
        wizard.query_one("#wiz-input", Input).value = text
    before = wizard.attempts
    await pilot.press("enter")
    await settled(pilot, lambda: wizard.attempts > before, "the step to answer")


VOLUME_ANSWERS: dict[str, str | None] = {
    "pool": None,
    "name": "new.qcow2",
    "format": None,
    "capacity": "1G",
    "allocation": None,
    "backing": None,
}
POOL_ANSWERS: dict[str, str | None] = {
    "type": None,
    "name": "images",
    "target": "/srv/images",
    "build": None,
}


async def walk_to(pilot: Pilot[int], key: str, target: str) -> Wizard[object]:
    wizard = await open_wizard(pilot, key)
    answers = VOLUME_ANSWERS if key == "n" else POOL_ANSWERS
    while step_id(wizard) != target:
        await answer(pilot, wizard, answers[step_id(wizard)])
    return wizard


def test_storage_view_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await open_storage(pilot)

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


@pytest.mark.parametrize(
    "step", ["pool", "name", "format", "capacity", "allocation", "backing", "summary"]
)
def test_volume_wizard_step_snapshot(snap_compare: Callable[..., bool], step: str) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await walk_to(pilot, "n", step)

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=(120, 40), run_before=run)


@pytest.mark.parametrize("step", ["type", "name", "target", "build", "summary"])
def test_pool_wizard_step_snapshot(snap_compare: Callable[..., bool], step: str) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await walk_to(pilot, "N", step)

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=(120, 40), run_before=run)


async def volume_names(app: TvirtApp) -> list[str]:
    worker = next(iter(app.manager.workers.values()))
    vols = await asyncio.wrap_future(worker.call(lambda c: storage.list_volumes(c, "lab-pool")))
    return [v.name for v in vols]


async def refused(pilot: Pilot[int], wizard: Wizard[object], text: str | None, words: str) -> None:
    where = step_id(wizard)
    await answer(pilot, wizard, text)
    error = str(wizard.query_one("#form-error", Static).render())
    assert step_id(wizard) == where, f"{text!r} was accepted at {where}"
    assert error.startswith("Not accepted: ") and words in error, error
    if text is not None:  # what was typed stays, to be corrected
        field = wizard.query_one("#wiz-input", Input)
        assert field.value == text.strip() or field.value == text
        assert pilot.app.focused is field


async def test_volume_wizard_refuses_bad_input_and_creates_nothing() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await walk_to(pilot, "n", "name")
        for text, words in [
            ("", "Give the volume a name"),
            ("a/b", "path separator"),
            ("..\\x", "path separator"),
            (".hidden", "start with a dot"),
            ("-rf", "start with a dot or a dash"),
            ("has space", "only letters"),
            ("x" * 201, "at most 200"),
            ("db01.qcow2", "already exists"),
        ]:
            await refused(pilot, wizard, text, words)
        await answer(pilot, wizard, "fresh.img")
        assert step_id(wizard) == "format"
        await pilot.press("down")  # raw
        await answer(pilot, wizard, None)
        for text, words in [
            ("", "Give a size"),
            ("0", "zero"),
            ("-1G", "negative"),
            ("ten", "not a size"),
            ("10X", "not a unit"),
            ("5P", "typo"),
        ]:
            await refused(pilot, wizard, text, words)
        # Larger than the pool: a sparse volume is warned about, a preallocated one refused.
        await answer(pilot, wizard, "900T")
        assert step_id(wizard) == "allocation"
        assert "Warning" in str(wizard.query_one("#wiz-text", Static).render())
        await pilot.press("down")  # preallocated
        await refused(pilot, wizard, None, "more than the")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, StorageScreen), "the storage view")
        assert await volume_names(app) == ["db01.qcow2"]


def words(wizard: Wizard[object], widget: str) -> str:
    return str(wizard.query_one(widget, Static).render())


async def test_volume_wizard_counts_steps_steadily_and_says_what_enter_does() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await open_wizard(pilot, "n")
        seen = []
        while True:
            seen.append(words(wizard, "#wiz-title"))
            assert ("Enter: create" if wizard.current_step.summary else "Enter: next step") in (
                words(wizard, "#wiz-keys"))
            if wizard.current_step.summary:
                break
            await answer(pilot, wizard, VOLUME_ANSWERS[step_id(wizard)] if step_id(wizard)
                         != "capacity" else "900T")
        assert [t.split(":")[0] for t in seen] == [
            f"New volume, step {i} of 7" for i in range(1, 8)], seen
        # The warning is its own line, not glued to what the XML box is.
        assert words(wizard, "#wiz-warning").startswith("Warning: 900 TiB is more than")
        assert "Warning" not in words(wizard, "#wiz-text")
        assert wizard.query_one("#wiz-xml").border_title == "The XML that goes to libvirt"


async def test_volume_wizard_creates_with_backing() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await walk_to(pilot, "n", "backing")
        await pilot.press("down")  # db01.qcow2 as the backing volume
        await answer(pilot, wizard, None)
        assert step_id(wizard) == "summary"
        xml = str(wizard.query_one("#wiz-xml-text", Static).render())
        assert "<backingStore>" in xml and "/lab-pool/db01.qcow2" in xml
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: isinstance(app.screen, StorageScreen), "the storage view")
        assert isinstance(screen, StorageScreen)
        await until(pilot, lambda: "new.qcow2" in [v.name for v in screen.volumes], "new row")
        assert sorted(await volume_names(app)) == ["db01.qcow2", "new.qcow2"]


async def test_pool_wizard_refuses_bad_input_and_defines_nothing() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await walk_to(pilot, "N", "name")
        for text, words in [("", "Give the pool a name"), ("a/b", "path separator"),
                            ("lab-pool", "already exists")]:
            await refused(pilot, wizard, text, words)
        await answer(pilot, wizard, "images")
        for text, words in [("", "absolute path"), ("relative/dir", "absolute path")]:
            await refused(pilot, wizard, text, words)
        # Every other type's fields, from the first step again.
        cases = {
            "logical": [("", "volume group's name"), ("-vg", "volume group's name")],
            "disk": [("sdb", "under /dev"), ("/dev/a,/dev/b", "one disk")],
            "netfs": [("", "host name"), ("bad host", "host name")],
            "gluster": [("", "host name")],
        }
        for index, kind in enumerate(("logical", "disk", "netfs", "gluster"), start=1):
            while wizard.index > 0:
                await pilot.press("ctrl+b")
                await pilot.pause()
            wizard.query_one("#wiz-options").highlighted = index  # type: ignore[attr-defined]
            await answer(pilot, wizard, None)
            await answer(pilot, wizard, "images")
            for text, words in cases[kind]:
                await refused(pilot, wizard, text, words)
        # netfs export and gluster volume name come after the server.
        await answer(pilot, wizard, "gluster1")
        await refused(pilot, wizard, "", "gluster volume's name")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, StorageScreen), "the storage view")
        worker = next(iter(app.manager.workers.values()))
        pools = await asyncio.wrap_future(worker.call(storage.list_pools))
        assert [p.name for p in pools] == ["lab-pool"]


async def test_pool_wizard_defines_a_dir_pool() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await walk_to(pilot, "N", "summary")
        assert isinstance(wizard, PoolWizard)
        xml = str(wizard.query_one("#wiz-xml-text", Static).render())
        assert "<path>/srv/images</path>" in xml
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: isinstance(app.screen, StorageScreen), "the storage view")
        assert isinstance(screen, StorageScreen)
        await until(pilot, lambda: "images" in [p.name for p in screen.pools], "the new pool")


async def test_volume_in_use_is_not_deleted_or_wiped_lightly() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_storage(pilot)
        screen.volume_table.focus()
        await pilot.press("W")
        await pilot.pause()
        assert any("Refused to wipe volume db01.qcow2: it is a disk of db01" in m
                   for m in app.messages)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the dialog")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "is a disk of db01" in dialog.question
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, StorageScreen), "the storage view")
        assert await volume_names(app) == ["db01.qcow2"]


async def test_readonly_refuses_changes() -> None:
    app = TvirtApp(uris=[LAB], readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_storage(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, StorageScreen)
        assert any("Read-only mode refused to create a volume" in m for m in app.messages)



async def test_download_refuses_a_directory_and_asks_before_overwriting(tmp_path: Path) -> None:
    kept = tmp_path / "kept.img"
    kept.write_bytes(b"mine")
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_storage(pilot)
        screen.volume_table.focus()

        async def download(text: str) -> FormDialog:
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, FormDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, FormDialog)
            dialog.query_one("#field-0", Input).value = text
            await pilot.press("enter")
            return dialog

        # A directory is refused on the dialog, in the command's words ("." was accepted
        # and failed with "Could not write .: Device or resource busy").
        for folder in (".", str(tmp_path)):
            dialog = await download(folder)
            await until(pilot, lambda d=dialog: "is a directory" in str(
                d.query_one("#form-error", Static).render()), "the refusal")
            assert str(dialog.query_one("#form-error", Static).render()) == (
                f"{folder} is a directory; give a file name.")
            assert app.screen is dialog
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, "the storage view")

        # An existing file: asked first; no keeps it.
        await download(str(kept))
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        question = app.screen
        assert isinstance(question, ConfirmDialog)
        assert question.question == f"{kept} exists. Overwrite it?"
        await pilot.press("n")
        await until(pilot, lambda: f"Nothing was downloaded; {kept} was left as it was." in
                    app.messages, "the answer taken")
        # Yes goes ahead: the test driver has no volume streams, so the download fails,
        # and the file is still as it was (the copy would replace it only when complete).
        await download(str(kept))
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("Could not download volume db01.qcow2: ")
                                       for m in app.messages), "the download tried")
        assert kept.read_bytes() == b"mine"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.img"]


@pytest.mark.parametrize("reader", [True, False])
async def test_pool_wizard_summary_is_read_line_by_line_in_screen_reader_mode(
    reader: bool,
) -> None:
    """Screen-reader mode: the summary is one focused list, a line an option (its
    sentence, the XML's title, the XML), so the cursor reads it line by line; Enter on
    any line creates. Without the mode the summary looks as it did: the text, the XML
    in its frame, the Create button focused."""
    app = TvirtApp(uris=[LAB], screen_reader=reader)
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await walk_to(pilot, "N", "summary")
        summary = wizard.query_one("#wiz-summary", OptionList)
        if not reader:
            assert not summary.display and wizard.query_one("#wiz-xml").display
            assert wizard.focused is wizard.query_one("#next")
            return
        assert wizard.focused is summary and summary.highlighted == 0
        assert not wizard.query_one("#wiz-xml").display
        assert not wizard.query_one("#wiz-text").display
        lines = [str(summary.get_option_at_index(i).prompt)
                 for i in range(summary.option_count)]
        assert lines[:3] == ["Define dir pool images, then start it.",
                             "The XML that goes to libvirt:", "<pool type=\"dir\">"]
        assert "    <path>/srv/images</path>" in lines and lines[-1] == "</pool>"
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, StorageScreen), "storage")
        screen = app.screen
        assert isinstance(screen, StorageScreen)
        await until(pilot, lambda: "images" in [p.name for p in screen.pools], "the pool")


async def test_volume_wizard_summary_reads_its_warning_on_its_own_line() -> None:
    """Screen-reader mode: the summary's warning is a line of the list, after the
    sentence and before the XML, so the cursor reaches it with Down."""
    app = TvirtApp(uris=[LAB], screen_reader=True)
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await open_wizard(pilot, "n")
        while not wizard.current_step.summary:
            await answer(pilot, wizard, VOLUME_ANSWERS[step_id(wizard)] if step_id(wizard)
                         != "capacity" else "900T")
        summary = wizard.query_one("#wiz-summary", OptionList)
        lines = [str(summary.get_option_at_index(i).prompt)
                 for i in range(summary.option_count)]
        assert lines[0].startswith("Create new.qcow2 in pool ") and "900 TiB" in lines[0]
        assert lines[1].startswith("Warning: 900 TiB is more than"), lines
        assert lines[2] == "The XML that goes to libvirt:" and lines[3].startswith("<volume")
        assert not wizard.query_one("#wiz-warning").display
