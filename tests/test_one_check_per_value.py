"""One check per value: the same bad memory, vCPUs, size, name or path gets the same
sentence from the new-VM wizard and the volume wizard (Pilot), the hardware screen (Pilot)
and the plain commands (a real subprocess), all through tvirt/validate.py.

VM values go to the real libvirtd and the shared guest (host limits and files are the
host's); volume values to the lab test-driver host, where the storage wizard has a pool.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_tui_dashboard import SIZE, select, table
from test_tui_storage import answer as wizard_answer
from test_tui_storage import walk_to
from test_tui_vm_screens import answer, form_error, next_step
from textual.pilot import Pilot
from textual.widgets import Input, Static

from conftest import Testbed
from tui_helpers import until
from tvirt.screens.app import TvirtApp
from tvirt.screens.create_wizard import CreateWizard
from tvirt.screens.form import Choice, FormDialog
from tvirt.screens.vm_hardware import VMHardwareScreen
from tvirt.words import plural

pytestmark = pytest.mark.real
TVIRT = Path(sys.executable).with_name("tvirt")
STORAGE_LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
NEW = f"tvirt-test-ocpv-{os.getpid()}"  # a VM name nobody has


def command(uri: str, *argv: str) -> str:
    """The sentence a plain command refuses with (its one line on stderr)."""
    done = subprocess.run([str(TVIRT), "-c", uri, *argv], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode != 0, (argv, done.stdout)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tvirt: "), (argv, done.stderr)
    return lines[0].removeprefix("tvirt: ")


# -- the new-VM wizard ----------------------------------------------------------
def problems(screen: CreateWizard) -> str:
    return str(screen.query_one("#form-error", Static).render())


async def wizard_says(pilot: Pilot[int], fields: dict[str, str], step: int,
                      disk: int = 2) -> str:
    """Open the wizard, fill in good values and these, go to `step` and try to leave it.
    disk: the disk choice (0 a new volume, 1 an existing file, 2 none)."""
    app = pilot.app
    assert isinstance(app, TvirtApp)
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, CreateWizard), "the wizard")
    screen = app.screen
    assert isinstance(screen, CreateWizard)
    await until(pilot, lambda: screen.limits is not None, "the host's limits", 30)
    good = {"name": NEW, "memory": "128M", "vcpus": "1", "size": "8M", "disk-path": ""}
    for widget_id, value in {**good, **fields}.items():
        screen.query_one(f"#{widget_id}", Input).value = value
    screen.query_one("#disk", Choice).value = ("new", "existing", "none")[disk]
    await pilot.pause()  # the choice's message clears the problems line: let it pass first
    for _ in range(step + 1):
        await next_step(pilot, screen)  # Enter in the step's last field
    await until(pilot, lambda: problems(screen) and not problems(screen).startswith(
        "Checking"), f"the refusal of {fields} (step {screen.step}: {problems(screen)!r})", 30)
    assert screen.step == step, f"{fields} was accepted"
    said = problems(screen)
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, CreateWizard), "the wizard closed")
    return said


# -- the hardware screen ----------------------------------------------------------
async def hardware_says(pilot: Pilot[int], key: str, *values: str) -> str:
    """The refusal, said in the form (screens/form.py), which stays open; then Escape."""
    screen = pilot.app.screen
    assert isinstance(screen, VMHardwareScreen)
    await pilot.press(key)
    form = await answer(pilot, *values)
    assert isinstance(form, FormDialog)
    await until(pilot, lambda: form_error(form) not in ("", "Working..."), f"{key}'s refusal", 30)
    assert pilot.app.screen is form, f"{key} {values} was accepted"
    said = form_error(form)
    await pilot.press("escape")
    await until(pilot, lambda: pilot.app.screen is screen, "the form closed")
    return said


async def test_vm_values_get_one_sentence_everywhere(testbed: Testbed, guest: str) -> None:
    uri = testbed.qemu_uri
    import libvirt

    conn = libvirt.open(uri)
    host_mib, cpus, host = conn.getInfo()[1], conn.getInfo()[2], conn.getHostname()
    conn.close()
    expected = {
        "memory 99999T": "A memory size of 99999T is more than 1 PiB, which is surely a typo.",
        "memory 1T": f"Memory of 1048576 MiB is more than the host has ({host_mib} MiB).",
        "vCPUs 0": "A VM needs at least 1 vCPU, not 0.",
        "vCPUs 10000": f"The host offers at most {plural(cpus, 'vCPU')}, not 10000.",
        "size -1G": "A size cannot be negative.",
        "name a/b": "A VM name cannot contain a path separator (/ or \\).",
        "path": f"There is no disk image at /nonexistent/x.img on {host}.",
    }
    said: dict[str, list[str]] = {what: [] for what in expected}
    # The plain commands, each in its own process.
    for size in ("99999T", "1T"):
        said[f"memory {size}"] += [
            command(uri, "hw", "memory", guest, size),
            command(uri, "create", NEW, "--pxe", "--no-network", "--memory", size),
        ]
    for count in ("0", "10000"):
        said[f"vCPUs {count}"] += [
            command(uri, "hw", "vcpus", guest, count),
            command(uri, "create", NEW, "--pxe", "--no-network", "--vcpus", count),
        ]
    said["size -1G"].append(command(uri, "create", NEW, "--pxe", "--no-network",
                                    "--disk-pool", "any", "--disk-size=-1G"))
    said["name a/b"] += [command(uri, "create", "a/b", "--pxe", "--no-network"),
                         command(uri, "clone", guest, "a/b")]
    said["path"] += [command(uri, "hw", "disk-add", guest, "/nonexistent/x.img"),
                     command(uri, "create", NEW, "--pxe", "--no-network",
                             "--disk", "/nonexistent/x.img")]
    # The wizard and the hardware screen, in one app.
    app = TvirtApp(uris=[uri], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any(vm.name == guest for vm in table(app).vms.values()),
                    "the guest listed", timeout=60)
        select(app, guest)
        for size in ("99999T", "1T"):
            said[f"memory {size}"].append(await wizard_says(pilot, {"memory": size}, 1))
        for count in ("0", "10000"):
            said[f"vCPUs {count}"].append(await wizard_says(pilot, {"vcpus": count}, 1))
        said["size -1G"].append(await wizard_says(pilot, {"size": "-1G"}, 2, disk=0))
        said["name a/b"].append(await wizard_says(pilot, {"name": "a/b"}, 0))
        said["path"].append(
            await wizard_says(pilot, {"disk-path": "/nonexistent/x.img"}, 2, disk=1))
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, VMHardwareScreen), "the hardware")
        for size in ("99999T", "1T"):
            said[f"memory {size}"].append(await hardware_says(pilot, "m", size, "config"))
        for count in ("0", "10000"):
            said[f"vCPUs {count}"].append(await hardware_says(pilot, "v", count))
        said["name a/b"].append(await hardware_says(pilot, "C", "a/b"))
        said["path"].append(await hardware_says(pilot, "a", "/nonexistent/x.img", "virtio"))
    for what, sentence in expected.items():
        assert said[what] == [sentence] * len(said[what]), (what, said[what])
    assert all(len(sentences) >= 3 for what, sentences in said.items() if what != "size -1G")


async def test_volume_values_get_one_sentence_everywhere() -> None:
    expected = {
        "-1G": "A size cannot be negative.",
        "a/b": "A volume name cannot contain a path separator (/ or \\).",
    }
    said = {
        "-1G": [command(STORAGE_LAB, "vol", "create", "lab-pool", "x", "--", "-1G"),
                command(STORAGE_LAB, "create", NEW, "--pxe", "--no-network",
                        "--disk-pool", "lab-pool", "--disk-size=-1G")],
        "a/b": [command(STORAGE_LAB, "vol", "create", "lab-pool", "a/b", "1G")],
    }
    app = TvirtApp(uris=[STORAGE_LAB])
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await walk_to(pilot, "n", "name")
        await wizard_answer(pilot, wizard, "a/b")
        said["a/b"].append(str(wizard.query_one("#form-error", Static).render()))
        await wizard_answer(pilot, wizard, "x.qcow2")
        await wizard_answer(pilot, wizard, None)  # the format
        assert wizard.current_step.id == "capacity"
        await wizard_answer(pilot, wizard, "-1G")
        said["-1G"].append(str(wizard.query_one("#form-error", Static).render()))
    for what, sentence in expected.items():
        wizard_said = said[what].pop()
        assert wizard_said == f"Not accepted: {sentence}", wizard_said
        assert said[what] == [sentence] * len(said[what]), (what, said[what])
