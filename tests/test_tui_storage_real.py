"""The storage view on the real libvirtd: a dir pool in a temp dir, driven by keys.

Create (wizard), resize, clone, upload, download, wipe and delete, each from its key,
checking what lands on disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from test_tui_snapshots import until
from textual.pilot import Pilot
from textual.widgets import Input, Static

from conftest import Testbed, dir_pool
from tvirt import storage
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.form import Choice, FormDialog
from tvirt.screens.quit_guard import CHANGES, QuitDialog
from tvirt.screens.storage import BUSY, StorageScreen
from tvirt.screens.wizard import FieldWizard as Wizard
from tvirt.sizes import MIB

pytestmark = pytest.mark.real
PID = os.getpid()


@pytest.fixture
def pool(testbed: Testbed, tmp_path: Path) -> Iterator[str]:
    name = f"tvirt-test-tui-{PID}"
    conn = libvirt.open(testbed.qemu_uri)
    try:
        with dir_pool(conn, name, tmp_path / "pool"):
            yield name
    finally:
        conn.close()


async def said(pilot: Pilot[int], app: TvirtApp, words: str) -> None:
    await until(pilot, lambda: any(words in m for m in app.messages), repr(words))


async def ask(pilot: Pilot[int], app: TvirtApp, key: str, text: str | None) -> None:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, FormDialog), f"the dialog of {key}")
    if text is not None:
        field = app.screen.query_one("#field-0")
        assert isinstance(field, Choice | Input)
        field.value = text
    await pilot.press("enter")



async def open_pool(pilot: Pilot[None], app: TvirtApp, uri: str, pool: str) -> StorageScreen:
    """From the dashboard of a connected uri, `S`, then the pool's row chosen."""
    await until(
        pilot,
        lambda: uri in app.hosts and app.hosts[uri].state is HostState.CONNECTED,
        "the host",
    )
    app.dashboard.host_list.focus()
    await pilot.pause()
    await pilot.press("S")
    await until(pilot, lambda: isinstance(app.screen, StorageScreen), "the storage view")
    screen = app.screen
    assert isinstance(screen, StorageScreen)
    await until(pilot, lambda: any(p.name == pool for p in screen.pools), "the pool")
    screen.pool_table.move_cursor(row=[p.name for p in screen.pools].index(pool))
    return screen

async def test_volume_actions_from_their_keys(testbed: Testbed, pool: str, tmp_path: Path) -> None:
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_pool(pilot, app, testbed.qemu_uri, pool)
        await until(pilot, lambda: screen._shown_pool == pool, "the pool's volumes")

        # Create through the wizard: pool, name, format raw, 4M, sparse, no backing, summary.
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, Wizard), "the wizard")
        wizard = app.screen
        assert isinstance(wizard, Wizard)
        for text in (None, "vol.img", "down", "4M", None, None):
            before = wizard.attempts
            if text == "down":
                await pilot.press("down")
                text = None
            if text is not None:
                wizard.query_one("#wiz-input", Input).value = text
            await pilot.press("enter")
            await until(pilot, lambda b=before: wizard.attempts > b, "the step")
        assert wizard.current_step.id == "summary", wizard.current_step.id
        await pilot.press("enter")
        await said(pilot, app, "Created volume vol.img (raw, 4 MiB)")
        await until(pilot, lambda: [v.name for v in screen.volumes] == ["vol.img"], "the row")
        path = Path(screen.volumes[0].path)

        screen.volume_table.focus()
        await ask(pilot, app, "z", "8M")
        await said(pilot, app, "Resized volume vol.img from 4 MiB to 8 MiB")
        assert path.stat().st_size == 8 * MIB

        source = tmp_path / "in.img"
        source.write_bytes(os.urandom(8 * MIB))
        await until(pilot, lambda: screen.volumes and screen.volumes[0].capacity == 8 * MIB,
                    "the new size")
        await ask(pilot, app, "U", str(source))
        await said(pilot, app, "Uploaded 8 MiB")
        dest = tmp_path / "out.img"
        await ask(pilot, app, "d", str(dest))
        await said(pilot, app, "Downloaded 8 MiB of vol.img")
        assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(
            source.read_bytes()).digest()
        # Onto an existing file only after yes; then it is replaced whole.
        dest.write_bytes(b"old")
        before = len(app.messages)
        await ask(pilot, app, "d", str(dest))
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("Downloaded 8 MiB of vol.img") for m in
                                       app.messages[before:]), "the second download")
        assert dest.read_bytes() == source.read_bytes()

        await ask(pilot, app, "C", None)  # the name offered: vol.img-clone
        await said(pilot, app, "Cloned volume vol.img into vol.img-clone")
        assert (path.parent / "vol.img-clone").read_bytes() == source.read_bytes()

        await until(pilot, lambda: len(screen.volumes) == 2, "two rows")
        screen.volume_table.move_cursor(row=0)
        await ask(pilot, app, "W", "zero")
        await said(pilot, app, "Wiped volume vol.img (zero)")
        assert path.read_bytes() == bytes(8 * MIB)

        for name in ("vol.img", "vol.img-clone"):
            await until(pilot, lambda: screen.volumes and not screen.busy_text, "idle")
            row = [v.name for v in screen.volumes].index(name)
            screen.volume_table.move_cursor(row=row)
            await pilot.press("D")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the dialog")
            await pilot.press("y")
            await said(pilot, app, f"Deleted volume {name}")
        await until(pilot, lambda: screen.volumes == [], "no rows")


async def test_ctrl_c_cancels_an_upload_and_a_download(
    testbed: Testbed, pool: str, tmp_path: Path
) -> None:
    """An 8 GiB volume takes a minute or more to move here; Ctrl+C goes in as soon as the
    progress line shows the transfer under way."""
    from test_real_transfer_cancel import HEAD, SIZE, all_zero

    conn = libvirt.open(testbed.qemu_uri)
    try:
        vol = storage.volume_create(conn, pool, storage.VolumeSpec("big.img", SIZE, "raw"))
    finally:
        conn.close()
    path = Path(vol.path)
    source = tmp_path / "source.img"
    with source.open("wb") as f:
        f.write(os.urandom(HEAD))
        f.truncate(SIZE)
    folder = tmp_path / "down"
    folder.mkdir()
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_pool(pilot, app, testbed.qemu_uri, pool)
        await until(pilot, lambda: [v.name for v in screen.volumes] == ["big.img"], "the volume")
        screen.volume_table.focus()
        text = screen.query_one("#transfer-text", Static)

        def progress(verb: str) -> bool:
            return f"{verb} " in str(text.render()) and "of 8 GiB" in str(text.render())

        await ask(pilot, app, "U", str(source))
        await until(pilot, lambda: progress("uploaded"), "the upload under way", 60)
        # One transfer at a time: a second is refused before any dialog opens.
        for key in ("d", "U"):
            before = len(app.messages)
            await pilot.press(key)
            await until(pilot, lambda b=before: BUSY in app.messages[b:], f"{key} refused")
            assert app.screen is screen
        # q during the upload asks first (it would leave the volume part written); n stays.
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit question")
        assert app.screen.targets == [CHANGES[("storage-transfer", "")]]
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "back on the storage view")
        assert app.is_running and not app.quitting
        await pilot.press("ctrl+c")
        await said(pilot, app, "Upload to big.img cancelled. Volume big.img was partly "
                   "overwritten, so it was wiped with zeros.")
        assert not any(m.startswith("Uploaded") for m in app.messages)
        assert path.stat().st_size == SIZE and all_zero(path)
        assert not screen.query_one("#transfer").has_class("busy")

        with path.open("r+b") as f:
            f.write(os.urandom(HEAD))
        dest = folder / "copy.img"
        await ask(pilot, app, "d", str(dest))
        await until(pilot, lambda: progress("downloaded"), "the download under way", 60)
        await pilot.press("ctrl+c")
        await said(pilot, app, f"Download of big.img cancelled; {dest} was not written.")
        assert list(folder.iterdir()) == []
        # Nothing runs any more: Ctrl+C says so, and Escape leaves the view.
        await pilot.press("ctrl+c")
        await said(pilot, app, "No upload or download is running.")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, StorageScreen), "the dashboard")
