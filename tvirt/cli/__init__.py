"""The `tvirt` command: the TUI by default, plain line-oriented subcommands otherwise.

This package is the command-line front end over the core (tvirt/ outside it): one module
per command group, each with register(subparsers) setting ``run``, and one shared
plumbing module (tvirt.cli.plumbing) that the groups import. Only this module imports the
groups, to build the parser; nothing in the core or the screens imports tvirt.cli.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from tvirt import __version__, config
from tvirt.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, TvirtError, os_sentence

# Every command and the module of tvirt.cli that registers it. The parser imports only
# the module of the command on the line (a plain command starts without loading every
# group's core modules); `tvirt --help`, a command it does not know, completion of the
# command word and the shell load them all. tests/test_cli_lazy.py checks this table
# against what the modules register.
COMMANDS: dict[str, str] = {
    **dict.fromkeys(
        ("hosts", "list", "info", "start", "shutdown", "reboot", "destroy", "suspend",
         "resume", "autostart", "delete"),
        "vms",
    ),
    "keys": "",  # registered here
    "watch": "watch",
    "shell": "shell",
    "console": "console",
    "display": "display",
    "create": "create",
    "clone": "create",
    "hw": "hardware",
    "snapshot": "snapshots",
    "net": "net",
    "gluster": "gluster",
    "cluster": "cluster",
    "disks": "disks",
    "wipe": "disks",
    "pools": "storage",
    "vols": "storage",
    "pool": "storage",
    "vol": "storage",
    "migrate": "migrate",
    "version": "version",
    "completion": "completion",
}
# The groups in the order `tvirt --help` lists them (`keys` comes after vms).
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(m for m in COMMANDS.values() if m))
_HELP = {"-h", "--help"}


class SentenceParser(argparse.ArgumentParser):
    """Usage errors as one sentence on stderr, like every other tvirt error."""

    def error(self, message: str) -> NoReturn:
        sentence = f"{message[:1].upper()}{message[1:]} (see {self.prog} --help)."
        self.exit(EXIT_USAGE, f"tvirt: {sentence}\n")


def build_parser(
    argv: Sequence[str] | None = None, *, all_without_command: bool = False
) -> argparse.ArgumentParser:
    """The whole parser, or (given the command line) one with only the groups it needs.
    all_without_command: every group when argv has no command yet (completing the
    command word shows each command's help beside it in zsh)."""
    # Typed as the base class so the command groups share one register() signature;
    # subparsers are SentenceParsers too (argparse uses type(parser)).
    parser: argparse.ArgumentParser = SentenceParser(
        prog="tvirt",
        description="A terminal virtualization console. Without a command it opens the "
        "full-screen app; with one it prints plain lines (or --json).",
    )
    parser.add_argument("--version", action="version", version=f"tvirt {__version__}")
    parser.add_argument(
        "-c",
        "--connect",
        action="append",
        default=[],
        metavar="URI",
        help="libvirt URI to open; repeat for several hosts",
    )
    parser.add_argument("--readonly", action="store_true", help="refuse every change")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    parser.add_argument(
        "--screen-reader",
        action="store_true",
        help="full-screen app for screen readers and braille displays: the terminal "
        "cursor follows the focus and nothing redraws by itself",
    )
    parser.add_argument(
        "--theme",
        default="",
        metavar="NAME",
        help="colour theme of the full-screen app: dark, light, high-contrast, ansi "
        "(the terminal's own colours) or a theme file's name",
    )
    parser.add_argument(
        "--interval",
        type=_interval,
        default=None,
        metavar="SECONDS",
        help="seconds between live stats samples in the full-screen app, "
        f"{config.MIN_INTERVAL:g} to {config.MAX_INTERVAL:g} (default: the config's [ui] "
        f"interval, else {config.DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for hosts (default 30)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    needed = _groups_needed(parser, argv) or (set(GROUPS) if all_without_command else set())
    for group in GROUPS:
        if group == "watch":
            sub.add_parser(
                "keys", help="list every key binding of the full-screen app"
            ).set_defaults(run=_keys)
        if group in needed:
            _register_group(sub, group)
    # The commands of groups not loaded: names only, never reached by this command line.
    for name in COMMANDS:
        if name not in sub.choices:
            sub.add_parser(name)
    _globals_after_command(parser)
    return parser


def _groups_needed(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """The groups a command line needs: its command's, or all of them (no command line,
    help asked before the command, or a command word that is not one of ours)."""
    if argv is None:
        return set(GROUPS)
    words = list(argv)
    index = 0
    while index < len(words):
        word = words[index]
        if word in _HELP:
            return set(GROUPS)
        if word == "--" or not word.startswith("-"):
            break
        action = parser._option_string_actions.get(word)
        # an option's value in the next word (`-c URI`), not in this one (`-cURI`, `--x=1`)
        if action is not None and action.nargs != 0 and "=" not in word:
            index += 1
        index += 1
    if index >= len(words) or words[index] == "--":
        return set()  # no command: the full-screen app, the shell or --version
    group = COMMANDS.get(words[index])
    if group is None:
        return set(GROUPS)  # argparse names the commands it knows in its error
    return {group} if group else set()


def _register_group(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    module = importlib.import_module(f"tvirt.cli.{name}")
    if name == "shell":  # it runs every command through main(), handed in
        module.register(sub, runner=main, parser=build_parser)
    else:
        module.register(sub)


def _globals_after_command(parser: argparse.ArgumentParser) -> None:
    """Accept the global options after the command too (`tvirt list --json -c URI`), on
    every subcommand at every depth, so new commands get them without doing anything.

    The defaults are SUPPRESS so an option not repeated after the command keeps the value
    given before it; -c after the command collects into late_connect, which main() adds
    to the -c URIs given before it. Options a command defines itself are left alone."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in action.choices.values():
            have = command._option_string_actions
            group = command.add_argument_group("global options (also before the command)")
            if "-c" not in have and "--connect" not in have:
                group.add_argument("-c", "--connect", dest="late_connect", action="append",
                                   default=argparse.SUPPRESS, metavar="URI",
                                   help="libvirt URI to open; repeat for several hosts")
            if "--readonly" not in have:
                group.add_argument("--readonly", action="store_true",
                                   default=argparse.SUPPRESS, help="refuse every change")
            if "--json" not in have:
                group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                                   help="print JSON instead of lines")
            if "--timeout" not in have:
                group.add_argument("--timeout", type=float, default=argparse.SUPPRESS,
                                   metavar="SECONDS", help="seconds to wait for hosts")
            _globals_after_command(command)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"the stats interval must be a number of seconds, not {text!r}"
        ) from None
    problem = config.interval_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and "_ARGCOMPLETE" in os.environ:
        from tvirt.cli import completion

        words = completion.words_before_cursor()
        completion.complete(build_parser(words, all_without_command=True))  # exits
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    args.connect = [*args.connect, *getattr(args, "late_connect", [])]
    from tvirt.cli import pipes, plain

    # raw_output: a command that must pass a terminal stream through (a serial console)
    # sets it with set_defaults(raw_output=True) and takes care of plain mode itself.
    if args.command is None and not plain.reason():
        return _main(args)
    try:
        with pipes.guarded():
            if getattr(args, "raw_output", False):
                return _main(args)
            # Commands print words only: no escape sequences or control bytes, ever.
            with plain.filtered():
                return _main(args)
    except pipes.OutputError as exc:  # the last flush of the output failed (a full disk)
        from tvirt.cli.plumbing import report

        return report(exc)


def _main(args: argparse.Namespace) -> int:
    from tvirt.cli import pipes, plain

    try:
        if args.command is None:
            why = plain.reason()
            if why:
                from tvirt.cli import shell

                # No full-screen app without a real terminal: the line shell instead.
                print(f"Plain mode ({why}): starting the line shell, tvirt shell.")
                return shell.run_shell(args, runner=main, parser=build_parser)
            return _run_tui(args)
        # Every command group sets run to its handler; it returns the exit status.
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except TvirtError as exc:  # the output's own failure (OutputError) included
        from tvirt.cli.plumbing import report

        return report(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Raw output (a console's bytes) bypasses the guard; the reader left: stop quietly.
        pipes.reader_gone(sys.stdout)
        return EXIT_OK
    except OSError as exc:
        print(f"tvirt: {os_sentence(exc)}", file=sys.stderr)
        return EXIT_FAILED


def _run_tui(args: argparse.Namespace) -> int:
    # Imported here so the core and the plain commands never load textual.
    from tvirt.screens.app import run_app

    code: int = run_app(
        connect=args.connect,
        readonly=args.readonly,
        interval=args.interval,
        screen_reader=args.screen_reader,
        theme=args.theme,
    )
    return code


def _keys(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from tvirt.keys import all_keys, display

    keys = all_keys()
    if args.json:
        print(json.dumps([{**asdict(k), "key": display(k.key)} for k in keys], indent=2))
    else:
        for k in keys:
            print(f"{display(k.key)}: {k.description} ({k.where})")
    return EXIT_OK
