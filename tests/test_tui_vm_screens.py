"""The new-VM wizard, the VM hardware screen and the networks screen on a private
test-driver host (tests/fixtures/vmlab.xml): snapshots of every wizard step and of the
details screens, and Pilot tests of bad input and of changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TextArea

from tui_helpers import host_loaded, settled, until
from tvirt import validate
from tvirt.screens.app import TvirtApp
from tvirt.screens.create_wizard import CreateWizard
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.form import Choice, FormDialog
from tvirt.screens.networks import NetworksScreen
from tvirt.screens.vm_hardware import VMHardwareScreen, XMLScreen

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'vmlab.xml'}"
SIZE = (110, 40)


def lab_app(readonly: bool = False) -> TvirtApp:
    return TvirtApp(uris=[LAB], stats=False, readonly=readonly)


async def loaded(pilot: Pilot[int]) -> TvirtApp:
    return await host_loaded(pilot, LAB, 1)


async def wizard(pilot: Pilot[int]) -> CreateWizard:
    app = await loaded(pilot)
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, CreateWizard), "the wizard")
    screen = app.screen
    assert isinstance(screen, CreateWizard)
    await settled(pilot, lambda: screen.limits is not None, "the host limits")
    return screen


def problems(screen: CreateWizard) -> str:
    return str(screen.query_one("#form-error", Static).render())


async def next_step(pilot: Pilot[int], screen: CreateWizard) -> None:
    """Enter in the step's last field: the step is checked and, if fine, left."""
    before = screen.attempts
    screen.page_fields()[-1].focus()
    await pilot.press("enter")
    await until(pilot, lambda: screen.attempts > before, "the step to be checked")
    await pilot.pause()


async def to_step(pilot: Pilot[int], step: int) -> CreateWizard:
    screen = await wizard(pilot)
    screen.query_one("#name", Input).value = "newvm"
    screen.query_one("#size", Input).value = "2G"
    for _ in range(step):
        await next_step(pilot, screen)
    await until(pilot, lambda: screen.step == step, f"step {step + 1}")
    if step == 4:
        await until(pilot, lambda: "<domain" in screen.query_one("#xml", TextArea).text,
                    "the XML preview")
    await pilot.pause()
    return screen


@pytest.mark.parametrize("step", [0, 1, 2, 3, 4])
def test_wizard_step_snapshot(snap_compare: Callable[..., bool], step: int) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await to_step(pilot, step)

    assert snap_compare(lab_app(), terminal_size=SIZE, run_before=run)


def test_wizard_refusal_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await wizard(pilot)
        await pilot.press(*"bad name!", "enter")  # the focus starts on the name
        await pilot.press("enter")  # the source: PXE needs nothing more, so the step ends
        await pilot.pause()

    assert snap_compare(lab_app(), terminal_size=SIZE, run_before=run)


async def test_wizard_refuses_bad_input_on_every_field() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wizard(pilot)
        name = screen.query_one("#name", Input)
        assert app.focused is name  # the first field has the focus, no Tab needed

        async def refused(step: int, widget: str, value: str, words: str) -> None:
            field = screen.query_one(f"#{widget}", Input)
            good = field.value
            field.value = value
            await next_step(pilot, screen)
            assert screen.step == step, f"{widget}={value!r} was accepted"
            assert words in problems(screen), problems(screen)
            # The refusal keeps what was typed, and the focus goes to that field.
            assert field.value == value and app.focused is field
            field.value = good

        await refused(0, "name", "", "Give the VM a name")
        await refused(0, "name", "a b", "may hold only letters")
        await refused(0, "name", "db01", "already exists")
        name.value = "newvm"
        # An ISO source needs an absolute ISO path; its field shows only for that source.
        iso = screen.query_one("#iso", Input)
        assert not iso.display
        screen.query_one("#source", Choice).value = "iso"
        await pilot.pause()
        assert iso.display
        await refused(0, "iso", "", "needs the ISO's path")
        await refused(0, "iso", "relative.iso", "must be absolute")
        # The files a VM uses must exist on its host; a test-driver host is this machine.
        iso.value = __file__
        await next_step(pilot, screen)
        await until(pilot, lambda: screen.step == 1, "step 2")
        await refused(1, "memory", "lots", "'lots' is not a memory size")
        await refused(1, "memory", "8M", "at least 16 MiB")
        await refused(1, "memory", "64G", "more than the host has")
        await refused(1, "vcpus", "two", "whole number")
        await refused(1, "vcpus", "0", "at least 1 vCPU")
        await refused(1, "vcpus", "64", "The host offers at most 4 vCPUs, not 64")
        await next_step(pilot, screen)
        await until(pilot, lambda: screen.step == 2, "step 3")
        # Pools and formats are lists: only the host's pools can be chosen.
        assert screen.query_one("#pool", Choice).keys == ["labpool"]
        assert screen.query_one("#format", Choice).keys == ["qcow2", "raw"]
        await refused(2, "size", "big", "'big' is not a size")
        await next_step(pilot, screen)
        await until(pilot, lambda: screen.step == 3, "step 4")
        for choice, keys in (("network", ["labnet"]), ("os", ["linux", "generic", "windows"]),
                             ("virt-type", ["test"])):
            assert screen.query_one(f"#{choice}", Choice).keys == keys
        screen.query_one("#net", Choice).value = "bridge"
        await pilot.pause()
        await refused(3, "bridge", "", "needs the bridge's name")
        await refused(3, "bridge", "no such bridge!", "not a valid bridge name")


async def test_wizard_warns_of_a_disk_larger_than_the_pool() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_step(pilot, 2)
        size = screen.query_one("#size", Input)
        size.value = "300G"  # labpool has 100 GiB free
        await next_step(pilot, screen)
        assert screen.step == 2
        assert "Warning: a 300 GiB disk is more than the 100 GiB free in pool labpool" in (
            problems(screen))
        assert size.value == "300G"
        await pilot.press("enter")  # again: a sparse volume may be larger, once warned
        await until(pilot, lambda: screen.step == 3, "step 4")
        await next_step(pilot, screen)
        await until(pilot, lambda: screen.step == 4, "the summary")
        warning = str(screen.query_one("#summary-warning", Static).render())
        assert "more than the 100 GiB free" in warning


async def test_wizard_creates_on_the_test_driver_and_edits_the_xml() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_step(pilot, 4)
        xml = screen.query_one("#xml", TextArea)
        # A hand edit that libvirt refuses: its own message, and the text stays.
        broken = xml.text.replace("<memory", "<memory unit='parsecs'", 1)
        broken = broken.replace('unit="MiB">512</memory>', ">512</memory>", 1)
        xml.text = broken
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "parsecs" in problems(screen), "libvirt's refusal")
        assert "unknown suffix 'parsecs'" in problems(screen)  # libvirt's words
        assert xml.text == broken
        await pilot.press("ctrl+b")
        await next_step(pilot, screen)  # rebuilds the XML from the fields
        await until(pilot, lambda: "parsecs" not in xml.text, "the rebuilt XML")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, CreateWizard), "the wizard to close")
        assert any("Created newvm" in m for m in app.messages)
        await until(pilot, lambda: any(vm.name == "newvm"
                                       for vm in app.dashboard.table.vms.values()),
                    "newvm on the dashboard")


async def test_wizard_refused_in_readonly_mode() -> None:
    app = lab_app(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, CreateWizard)
        assert "Read-only mode" in app.messages[-1]


async def hardware(pilot: Pilot[int]) -> VMHardwareScreen:
    app = await loaded(pilot)
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, VMHardwareScreen), "the hardware screen")
    screen = app.screen
    assert isinstance(screen, VMHardwareScreen)
    await settled(pilot, lambda: screen.overview is not None, "the overview")
    return screen


def test_hardware_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await hardware(pilot)

    assert snap_compare(lab_app(), terminal_size=SIZE, run_before=run)


def test_networks_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        app = await loaded(pilot)
        await pilot.press("N")
        await until(pilot, lambda: isinstance(app.screen, NetworksScreen), "networks")
        screen = app.screen
        assert isinstance(screen, NetworksScreen)
        await settled(pilot, lambda: screen.nets, "the networks")

    assert snap_compare(lab_app(), terminal_size=SIZE, run_before=run)


async def answer(pilot: Pilot[int], *values: str) -> FormDialog:
    """Fill the form (text, or a choice's key) and press Enter in its last field."""
    await until(pilot, lambda: isinstance(pilot.app.screen, FormDialog), "the form")
    form = pilot.app.screen
    assert isinstance(form, FormDialog)
    assert pilot.app.focused is form.query_one("#field-0")  # the first field has the focus
    for i, value in enumerate(values):
        field = form.query_one(f"#field-{i}")
        if isinstance(field, Choice):
            field.value = value
        else:
            assert isinstance(field, Input)
            field.value = value
    form.query_one(f"#field-{len(values) - 1}").focus()
    before = form.attempts
    await pilot.press("enter")
    await until(pilot, lambda: form.attempts > before or not form.is_attached, "the answer")
    return form


def form_error(form: FormDialog) -> str:
    return str(form.query_one("#form-error", Static).render())


def status(screen: VMHardwareScreen) -> str:
    return str(screen.query_one("#hw-status", Static).render())


async def test_hardware_changes_and_snapshots() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await hardware(pilot)
        await pilot.press("m")
        form = await answer(pilot, "lots", "live")
        # Refused in the form, which stays open with what was typed and the field focused.
        assert app.screen is form and "'lots' is not a memory size" in form_error(form)
        assert form.query_one("#field-0", Input).value == "lots"
        assert app.focused is form.query_one("#field-0")
        assert form.query_one("#field-1", Choice).keys == ["live", "config"]
        await pilot.press("escape")
        await pilot.press("m")
        await answer(pilot, "512M", "config")
        await until(pilot, lambda: "512 MiB" in status(screen), "the memory change")
        assert "in the config" in status(screen)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "the snapshot form")
        assert app.screen.query_one("#field-2", Choice).keys == ["full", "disk-only"]
        await answer(pilot, "first", "before the upgrade", "full")
        await until(pilot, lambda: any(s.name == "first" for s in screen.snaps), "a snapshot")
        # libvirt's refusal (a taken name) also keeps the form open with the answers.
        await pilot.press("S")
        form = await answer(pilot, "first", "again", "full")
        await until(pilot, lambda: "already has a snapshot" in form_error(form), "the refusal")
        assert app.screen is form and form.query_one("#field-1", Input).value == "again"
        await pilot.press("escape")
        await pilot.press("S")
        await answer(pilot, "second", "", "full")
        await until(pilot, lambda: len(screen.snaps) == 2, "two snapshots")
        assert [(s.name, s.depth, s.current) for s in screen.snaps] == [
            ("first", 0, False), ("second", 1, True)]
        table = screen.query_one("#snapshots", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("n")
        await until(pilot, lambda: "Cancelled" in status(screen), "the cancel")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: "Reverted" in status(screen), "the revert")
        await until(pilot, lambda: screen.snaps and screen.snaps[0].current, "first current")
        table.move_cursor(row=1)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: len(screen.snaps) == 1, "one snapshot left")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, XMLScreen), "the XML screen")
        editor = app.screen.query_one("#xml-editor", TextArea)
        await until(pilot, lambda: "<domain" in editor.text, "the XML")
        editor.text = re.sub(r"(<memory[^>]*>)\d+", r"\1lots", editor.text, count=1)
        edited = editor.text
        await pilot.press("ctrl+s")
        xml_status = app.screen.query_one("#xml-status", Static)
        await until(pilot, lambda: "Not saved" in str(xml_status.render()), "the refusal")
        # libvirt's words, verbatim (ours would not name the element).
        assert "memory" in str(xml_status.render()), str(xml_status.render())
        assert editor.text == edited


async def test_memory_and_maximum_memory_refuse_with_one_check() -> None:
    """m and M read their size through the same step (validate.memory_mib): the same bad
    value gets the same sentence in both forms, which stay open with what was typed."""
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await hardware(pilot)
        for bad in ("lots", "8M", "99999T"):
            with pytest.raises(validate.Invalid) as refused:
                validate.memory_mib(bad)
            for key, rest in (("m", ("config",)), ("M", ())):
                await pilot.press(key)
                form = await answer(pilot, bad, *rest)
                assert app.screen is form, f"{key} accepted {bad!r}"
                assert form_error(form) == str(refused.value), (key, bad)
                assert form.query_one("#field-0", Input).value == bad
                await pilot.press("escape")
                await until(pilot, lambda: app.screen is screen, "the form closed")


async def test_hardware_refused_in_readonly_mode() -> None:
    app = lab_app(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await hardware(pilot)
        await pilot.press("v")  # refused before any form opens
        await until(pilot, lambda: "Read-only mode" in status(screen), "the refusal")
        assert not isinstance(app.screen, FormDialog)
        assert screen.overview is not None and screen.overview.vcpus == 2


async def test_hardware_refuses_before_asking_in_readonly_mode() -> None:
    """Each refusal names the change, the VM and the host, and comes before any form or
    question: a confirmation whose answer cannot matter is never shown."""
    app = lab_app(readonly=True)
    after = "; restart tvirt without --readonly to make changes."
    async with app.run_test(size=SIZE) as pilot:
        screen = await hardware(pilot)
        assert screen.overview is not None
        nic = [d.kind for d in screen.overview.devices].index("nic")
        screen.query_one("#devices", DataTable).move_cursor(row=nic)
        for key, what in (("d", "remove a NIC from db01"), ("m", "change the memory of db01"),
                          ("S", "snapshot db01")):
            sentence = f"Read-only mode refused to {what} on demo vmlab.xml{after}"
            await pilot.press(key)
            await until(pilot, lambda s=sentence: status(screen) == f"Error: {s}", what)
            assert app.screen is screen  # no form and no question opened
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, XMLScreen), "the XML screen")
        xml = app.screen
        await until(pilot, lambda: "<domain" in xml.query_one(TextArea).text, "the XML")
        await pilot.press("ctrl+s")
        sentence = f"Read-only mode refused to change the XML of db01 on demo vmlab.xml{after}"
        await until(pilot, lambda: str(xml.query_one("#xml-status", Static).render())
                    == sentence, "the XML refusal")


async def test_networks_define_start_stop_on_the_test_driver() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("N")
        await until(pilot, lambda: isinstance(app.screen, NetworksScreen), "networks")
        screen = app.screen
        assert isinstance(screen, NetworksScreen)
        await until(pilot, lambda: screen.nets, "the networks")
        await pilot.press("n")
        form = await answer(pilot, "lab2", "isolated", "8.8.8.0/24")
        assert "not a private range" in form_error(form)
        assert app.focused is form.query_one("#field-2")
        assert form.query_one("#field-1", Choice).keys == ["nat", "isolated"]
        form.query_one("#field-2", Input).value = "10.1.2.0/24"
        await pilot.press("enter")
        await until(pilot, lambda: len(screen.nets) == 2, "the new network")
        lab2 = [n.name for n in screen.nets].index("lab2")
        screen.query_one(DataTable).move_cursor(row=lab2)
        await pilot.press("s")
        await until(pilot, lambda: screen.nets[lab2].state == "active", "lab2 active")
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: screen.nets[lab2].state == "inactive", "lab2 stopped")
