"""`tvirt shell`: an interactive line mode for screen readers and braille displays.

Every command of `tvirt` works here without the leading "tvirt" ("list", "start
web01", "pools"...), with history and Tab completion of command and VM names. Nothing
needs arrow keys: a command that needs a VM and got none shows a numbered menu to
answer by number, and destructive commands ask yes or no. Long work prints a start
line, a "still working" line at most every 30 seconds, and a final line.

Commands run through tvirt.cli.main (handed in as ``runner``, with the parser it builds,
so this module imports nothing of the command line but its plumbing) with the shell's
own -c/--readonly/--timeout, so each one behaves exactly as on the command line. The
shell keeps its own connection only to know VM names for menus and completion.
"""

from __future__ import annotations

import argparse
import cmd
import contextlib
import shlex
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tvirt import config
from tvirt.actions import Action
from tvirt.cli.plumbing import EXIT_OK
from tvirt.inventory import Inventory
from tvirt.manager import HostManager, choose_uris
from tvirt.model import VMInfo, VMState
from tvirt.uri import URIError

Runner = Callable[[list[str]], int]
ParserFactory = Callable[[], argparse.ArgumentParser]
# Seconds between "still working" lines; tests shorten it.
PROGRESS_INTERVAL = 30.0
# Commands that only read: they print their answer at once, without progress lines.
QUICK = {"hosts", "list", "info", "keys", "help"}
# Commands that take over the terminal or run until Ctrl+C: run in the foreground.
FOREGROUND = {"console", "watch"}
# Which VMs a menu offers for each command (None: every VM).
MENU_STATES: dict[str, set[VMState] | None] = {
    "start": {VMState.SHUTOFF, VMState.CRASHED},
    "shutdown": {VMState.RUNNING, VMState.BLOCKED, VMState.PAUSED},
    "reboot": {VMState.RUNNING, VMState.BLOCKED},
    "destroy": {VMState.RUNNING, VMState.BLOCKED, VMState.PAUSED, VMState.SHUTDOWN,
                VMState.CRASHED, VMState.PMSUSPENDED},
    "suspend": {VMState.RUNNING, VMState.BLOCKED},
    "resume": {VMState.PAUSED, VMState.PMSUSPENDED},
    "console": {VMState.RUNNING, VMState.BLOCKED, VMState.PAUSED},
}
# Lifecycle commands that change a running guest: asked as yes or no first.
_ASK = {a.value: a for a in Action if a.destructive}


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    runner: Runner,
    parser: ParserFactory,
) -> None:
    shell = sub.add_parser(
        "shell",
        help="interactive line mode: commands with history, completion, numbered menus",
        description="Type tvirt commands without 'tvirt'. Tab completes; 'help' lists "
        "the commands; 'quit' or Ctrl+D leaves.",
    )
    shell.set_defaults(run=partial(run_shell, runner=runner, parser=parser))


def run_shell(args: argparse.Namespace, *, runner: Runner, parser: ParserFactory) -> int:
    shell = Shell(args, runner=runner, parser=parser)
    try:
        shell.cmdloop()
    finally:
        shell.close()
    return EXIT_OK


def _global_args(args: argparse.Namespace) -> list[str]:
    argv: list[str] = []
    for uri in args.connect:
        argv += ["-c", uri]
    if args.readonly:
        argv.append("--readonly")
    if getattr(args, "timeout", None) is not None:
        argv += ["--timeout", f"{args.timeout:g}"]
    return argv


class Shell(cmd.Cmd):
    intro = (
        "tvirt shell. Type a command such as list, info, start or help; "
        "Tab completes; quit or Ctrl+D leaves."
    )
    prompt = "tvirt> "

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        runner: Runner,
        parser: ParserFactory,
        clock: Callable[[], float] = time.monotonic,
        join: Callable[[threading.Thread, float], object] = threading.Thread.join,
    ) -> None:
        super().__init__()
        # How long work has run, and waiting up to PROGRESS_INTERVAL for it to end: tests
        # pass fakes so the number of "still working" lines is theirs to decide.
        self._clock = clock
        self._join = join
        self.base = _global_args(args)
        self.runner = runner
        self.parser = parser()
        self.subparsers = _subparsers(self.parser)
        self.inventory = Inventory()
        self.manager: HostManager | None = None
        self.interactive = sys.stdin.isatty()
        self._connect(args)
        self._history = _setup_readline(self)

    # -- the shell's own view of the VMs, for menus and completion ------------
    def _connect(self, args: argparse.Namespace) -> None:
        try:
            cfg = config.load()
            uris, _source = choose_uris(args.connect, cfg)
            self.manager = HostManager(self.inventory.apply, readonly=True, reconnect=True)
            for uri in uris:
                self.manager.add(uri)
        except (config.ConfigError, URIError) as exc:
            print(f"tvirt: {exc} Menus and completion will not know VM names.")
            return
        deadline = time.monotonic() + min(float(getattr(args, "timeout", 10.0)), 10.0)
        while time.monotonic() < deadline:
            if all(h in self.inventory.listed for h in self.manager.workers):
                break
            time.sleep(0.05)

    def close(self) -> None:
        if self._history is not None:
            with contextlib.suppress(Exception):
                import readline

                self._history.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                readline.write_history_file(str(self._history))
        if self.manager is not None:
            self.manager.stop()

    def vm_names(self) -> list[str]:
        return sorted({vm.name for vm in self.inventory.vm_list()})

    # -- cmd.Cmd -------------------------------------------------------------
    def emptyline(self) -> bool:
        return False

    def do_quit(self, _arg: str) -> bool:
        """Leave the shell."""
        return True

    do_exit = do_quit

    def do_EOF(self, _arg: str) -> bool:  # cmd.Cmd's name for Ctrl+D
        print()
        return True

    def do_help(self, arg: str) -> bool:
        """List the commands, or show one command's options: help start."""
        if arg.strip() in self.subparsers:
            self.subparsers[arg.strip()].print_help()
            return False
        print("Commands (type help NAME for one):")
        for name, parser in self.subparsers.items():
            summary = _summary(self.parser, name) or (parser.description or "")
            print(f"  {name}: {summary}")
        print("  quit: leave the shell")
        return False

    def default(self, line: str) -> None:
        """Every tvirt command; nothing here ends the shell."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            print(f"tvirt: cannot read that line ({exc}).")
            return
        if words[:1] == ["tvirt"]:
            words = words[1:]
        if not words:
            return
        name = words[0]
        if name == "shell":
            print("You are in the shell already.")
            return
        if name not in self.subparsers:
            print(f"tvirt: there is no command {name!r}; type help for the list.")
            return
        complete = self._complete_args(name, words)
        if complete is not None:
            self.run(complete)

    def completenames(self, text: str, *_ignored: object) -> list[str]:
        names = [*self.subparsers, "help", "quit"]
        return [n + " " for n in names if n.startswith(text)]

    def completedefault(self, text: str, line: str, _begin: int, _end: int) -> list[str]:
        words = line.split()
        command = words[0] if words else ""
        parser = self.subparsers.get(command)
        options: list[str] = []
        if parser is not None and text.startswith("-"):
            options = [o for a in parser._actions for o in a.option_strings]
        return [w for w in (*options, *self.vm_names()) if w.startswith(text)]

    # -- menus and questions ---------------------------------------------------
    def _complete_args(self, name: str, words: list[str]) -> list[str] | None:
        """Fill in a missing VM by menu and confirm destructive commands; None cancels."""
        parser = self.subparsers[name]
        vm_dest = _vm_positional(parser)
        given = [w for w in words[1:] if not w.startswith("-")]
        where = ""
        if vm_dest is not None and not given:
            choice = self.choose_vm(name)
            if choice is None:
                return None
            words = [name, choice.name, *words[1:]]
            # The menu showed a host; a name on several hosts goes with that host's URI.
            clash = len({vm.host_id for vm in self.inventory.find(choice.name)}) > 1
            if clash and _has_option(parser, "--host") and "--host" not in words:
                words += ["--host", choice.host_id]
                where = f" on {self._label(choice.host_id)}"
        targets = [w for w in words[1:] if not w.startswith("-")]
        if "--host" in words[:-1]:
            targets = [w for w in targets if w != words[words.index("--host") + 1]]
        if name in _ASK:
            action = _ASK[name]
            what = (", ".join(targets) or "it") + where
            if not self.ask(f"{action.verb.capitalize()} {what}?"):
                print(f"Cancelled: did not {action.verb} {what}.")
                return None
            # The shell asked; delete would otherwise ask again for the typed name.
            if _has_option(parser, "--yes") and "--yes" not in words:
                words = [*words, "--yes"]
        # Other commands keep their own confirmation (wiping wants the typed device
        # name): the shell never answers it for them.
        return words

    def _label(self, host_id: str) -> str:
        host = self.inventory.hosts.get(host_id)
        return host.label if host else host_id

    def choose_vm(self, command: str) -> VMInfo | None:
        states = MENU_STATES.get(command)
        vms = [vm for vm in self.inventory.vm_list() if states is None or vm.state in states]
        if not vms:
            fits = "" if states is None else f" that can {command}"
            print(f"There is no VM{fits}. Give a name: {command} NAME.")
            return None
        return self.menu(f"Which VM for {command}?", vms)

    def menu(self, question: str, vms: list[VMInfo]) -> VMInfo | None:
        """A numbered list; the answer is a number or a name. Anything else asks again,
        so a typo never ends the menu; Enter (or Ctrl+D) cancels."""
        print(question)
        for number, vm in enumerate(vms, 1):
            print(f"  {number}. {vm.name}: {vm.state.word}, host {self._label(vm.host_id)}")
        while True:
            answer = self.read(f"Number or name (1 to {len(vms)}; Enter cancels): ")
            if answer is None or not answer.strip():
                print("Cancelled.")
                return None
            answer = answer.strip()
            named = [vm for vm in vms if vm.name == answer]
            if answer.isdigit() and 1 <= int(answer) <= len(vms):
                return vms[int(answer) - 1]
            if len(named) == 1:
                return named[0]
            if named:
                print(f"{answer} is on several hosts; answer with its number.")
            elif answer.isdigit():
                print(f"{answer} is not in the list; type a number from 1 to {len(vms)}.")
            else:
                print(f"{answer!r} is not in the list; type a number or a name from it.")

    def ask(self, question: str) -> bool:
        while True:
            answer = self.read(f"{question} Type yes or no: ")
            if answer is None:
                return False
            word = answer.strip().lower()
            if word in ("y", "yes"):
                return True
            if word in ("n", "no", ""):
                return False
            print("Please type yes or no.")

    def read(self, prompt: str) -> str | None:
        try:
            if self.interactive:
                return input(prompt)
            # From a pipe: show the prompt, read one line, echo nothing.
            sys.stdout.write(prompt)
            sys.stdout.flush()
            line = sys.stdin.readline()
            if not line:
                print()
                return None
            return line.rstrip("\n")
        except (EOFError, KeyboardInterrupt):
            print()
            return None

    # -- running a command -----------------------------------------------------
    def run(self, words: list[str]) -> int:
        argv = [*self.base, *words]
        if words[0] in FOREGROUND:
            return self._call(argv)
        if words[0] in QUICK:
            return self._call(argv)
        return self.run_long(words, argv)

    def _call(self, argv: list[str]) -> int:
        try:
            return self.runner(argv)
        except SystemExit as exc:  # argparse: the message is printed already
            return exc.code if isinstance(exc.code, int) else 2
        except KeyboardInterrupt:
            print()
            return 130

    def run_long(self, words: list[str], argv: list[str]) -> int:
        """Start line, a still-working line every PROGRESS_INTERVAL seconds, final line."""
        what = " ".join(words)
        print(f"Working: {what}.", flush=True)
        result: list[int] = []
        worker = threading.Thread(target=lambda: result.append(self._call(argv)), daemon=True)
        started = self._clock()
        worker.start()
        try:
            while worker.is_alive():
                self._join(worker, PROGRESS_INTERVAL)
                if worker.is_alive():
                    seconds = int(self._clock() - started)
                    print(f"Still working: {what}, {seconds} s so far.", flush=True)
        except KeyboardInterrupt:
            print(f"\nStopped waiting for {what}; it may still finish on the host.")
            return 130
        code = result[0] if result else 1
        outcome = "done" if code == 0 else f"failed, exit status {code}"
        print(f"Finished: {what}: {outcome}.", flush=True)
        return code


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _summary(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def _vm_positional(parser: argparse.ArgumentParser) -> str | None:
    for action in parser._actions:
        if not action.option_strings and action.dest in ("vm", "vms") and action.required:
            return action.dest
    return None


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in action.option_strings for action in parser._actions)


def _setup_readline(shell: Shell) -> Path | None:
    """History in the config dir and Tab completion, when stdin is a terminal."""
    if not shell.interactive:
        return None
    try:
        import readline
    except ImportError:
        return None
    # Bracketed paste wraps pasted text in escape sequences; a screen reader reads them.
    readline.parse_and_bind("set enable-bracketed-paste off")
    readline.parse_and_bind("tab: complete")
    readline.set_completer_delims(" \t")
    path = config.config_path().parent / "shell_history"
    with contextlib.suppress(OSError):
        readline.read_history_file(str(path))
    readline.set_history_length(1000)
    return path
