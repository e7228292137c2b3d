"""The core never imports textual: checked in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tvirt


def core_modules() -> list[str]:
    names = ["tvirt"]
    for info in pkgutil.walk_packages(tvirt.__path__, "tvirt."):
        if info.name.startswith(("tvirt.screens", "tvirt.themes")):
            continue
        names.append(info.name)
    return names


def test_core_modules_found() -> None:
    names = core_modules()
    assert {"tvirt.host", "tvirt.cli", "tvirt.manager", "tvirt.uri"} <= set(names)


def test_importing_the_core_does_not_load_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"core imported textual: {done.stdout} {done.stderr}"


def test_plain_command_does_not_load_textual() -> None:
    code = (
        "import sys\n"
        "from tvirt.cli import main\n"
        "code = main(['-c', 'test:///default', 'list'])\n"
        "assert code == 0, code\n"
        "sys.exit(2 if 'textual' in sys.modules else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "test: running" in done.stdout
