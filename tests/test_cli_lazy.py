"""The command line builds only the parser a command needs, and imports only its modules."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from tvirt.cli import COMMANDS, build_parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def _shape(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """Every argument of a parser and its subcommands: enough to tell two apart."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        found.append((action.dest, *action.option_strings, str(action.nargs)))
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend((name, *row) for row in _shape(sub))
    return found


def test_the_command_table_is_what_the_groups_register_in_help_order() -> None:
    assert list(_commands(build_parser())) == list(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_alone_gets_the_same_parser_as_with_every_group(command: str) -> None:
    whole = _commands(build_parser())[command]
    alone = _commands(build_parser(["-c", "test:///default", command]))[command]
    assert _shape(alone) == _shape(whole)


def test_the_command_word_is_found_after_global_options_with_values() -> None:
    whole = build_parser()
    # "5" is --timeout's value; taken for the command word, every group would load.
    lazy = build_parser(["--timeout", "5", "-c", "test:///default", "--json", "list"])
    assert _shape(_commands(lazy)["list"]) == _shape(_commands(whole)["list"])
    assert _shape(_commands(lazy)["pools"]) != _shape(_commands(whole)["pools"])
    # help before the command lists every command with its own help: all groups load
    helped = build_parser(["--help"])
    assert _shape(_commands(helped)["pools"]) == _shape(_commands(whole)["pools"])


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import json, sys\n"
        "from tvirt.cli import main\n"
        f"try:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    loaded: set[str] = set(json.loads(done.stderr.strip().splitlines()[-1]))
    return loaded


def test_version_loads_neither_libvirt_nor_textual_nor_the_command_groups() -> None:
    loaded = _modules_after("--version")
    assert "tvirt.cli" in loaded
    heavy = {"libvirt", "textual", "psutil", "humanize", "pyte", "tvirt.cli.plumbing",
             "tvirt.cli.vms", "tvirt.cli.storage", "tvirt.host"}
    assert loaded & heavy == set()


def test_list_loads_its_group_only_and_no_stats_ticker() -> None:
    loaded = _modules_after("-c", "test:///default", "list")
    assert {"libvirt", "tvirt.cli.vms", "tvirt.host"} <= loaded
    unneeded = {"textual", "psutil", "humanize", "pyte", "tvirt.ticker", "tvirt.stats",
                "tvirt.cli.storage", "tvirt.cli.gluster", "tvirt.cli.console", "tvirt.disks",
                "tvirt.clone", "argcomplete"}
    assert loaded & unneeded == set()
