"""Shell completion: argcomplete's protocol against the real `tvirt` script, the bash
function sourced from `tvirt completion bash`, and names read from test-driver hosts."""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tvirt.cli import completion

TVIRT = str(Path(sys.executable).parent / "tvirt")
# The real one: a refused port on this machine (nothing listens on port 1).
REFUSED = "qemu+ssh://root@127.0.0.1:1/system"


def offered(
    line: str, tmp_path: Path, in_shell: str = "bash", env: dict[str, str] | None = None
) -> list[str]:
    """What `tvirt` answers for a TAB at the end of line, through argcomplete's protocol
    (the environment the completion script sets, the answer in a file instead of fd 8)."""
    out = tmp_path / "completions"
    env = {**os.environ, **(env or {}), "COMP_LINE": line, "COMP_POINT": str(len(line)),
           "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": in_shell,
           "_ARGCOMPLETE_STDOUT_FILENAME": str(out), "_ARGCOMPLETE_SUPPRESS_SPACE": "1"}
    env.pop("LIBVIRT_DEFAULT_URI", None)
    done = subprocess.run([TVIRT], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout == "" and done.stderr == ""  # never a traceback, never a word
    text = out.read_text()
    return [word.strip() for word in text.split("\v") if word.strip()]


def test_command_words(tmp_path: Path) -> None:
    assert offered("tvirt vo", tmp_path) == ["vols", "vol"]
    assert "version" in offered("tvirt ver", tmp_path)
    assert offered("tvirt completion ", tmp_path) == ["bash", "zsh"]


def test_options_after_a_dash(tmp_path: Path) -> None:
    found = offered("tvirt list --", tmp_path)
    assert {"--state", "--host", "--json", "--connect"} <= set(found)


def test_vm_names_come_from_the_host_on_the_line(tmp_path: Path) -> None:
    assert offered("tvirt -c test:///default start ", tmp_path) == ["test"]
    # -c after the command counts as well
    assert offered("tvirt info -c test:///default ", tmp_path) == ["test"]
    assert offered("tvirt -c test:///default hw memory t", tmp_path) == ["test"]


def test_pool_volume_and_network_names(tmp_path: Path) -> None:
    assert offered("tvirt -c test:///default vols ", tmp_path) == ["default-pool"]
    assert offered("tvirt -c test:///default net start ", tmp_path) == ["default"]
    assert offered("tvirt -c test:///default create new1 --network ", tmp_path) == ["default"]


def test_host_labels(tmp_path: Path) -> None:
    found = offered("tvirt -c test:///default -c test:///default list --host ", tmp_path)
    assert found and all(label.startswith("demo") for label in found)


def test_migrate_offers_the_chosen_hosts_as_destinations(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[connections]\nuris = ["test:///default"]\n')
    line = "tvirt -c qemu+ssh://root@node2/system migrate web01 "
    found = offered(line, tmp_path, env={"TVIRT_CONFIG": str(config)})
    assert found == ["node2", "test:///default"]


def test_zsh_gets_each_command_with_its_help(tmp_path: Path) -> None:
    found = offered("tvirt vol", tmp_path, in_shell="zsh")
    assert any(entry.startswith("vols:") and "volumes" in entry for entry in found)


def test_an_unreachable_host_offers_nothing_and_prints_nothing(tmp_path: Path) -> None:
    assert offered(f"tvirt -c {REFUSED} start ", tmp_path) == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung host)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_a_host_that_never_answers_is_left_behind(silent_port: int) -> None:
    hung = f"qemu+ssh://root@127.0.0.1:{silent_port}/system?no_tty=1"
    names = completion.gather(["test:///default", hung], completion._vms,
                              argparse.Namespace(), timeout=1.0)
    assert names == ["test"]


def test_the_bash_function_from_the_printed_script(tmp_path: Path) -> None:
    script = subprocess.run([TVIRT, "completion", "bash"], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    (tmp_path / "tvirt.bash").write_text(script)
    line = "tvirt -c test:///default start "
    words = [*shlex.split(line), ""]
    program = (
        f"source {shlex.quote(str(tmp_path / 'tvirt.bash'))}\n"
        f"COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
        f"COMP_CWORD={len(words) - 1}\n"
        "complete -p tvirt\n"
        "_python_argcomplete tvirt\n"
        'printf "<%s>\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{Path(TVIRT).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    registered, *replies = done.stdout.splitlines()
    assert registered.endswith(" tvirt") and "_python_argcomplete" in registered
    assert "-o default" not in registered  # no file names where tvirt offers nothing
    assert replies == ["<test >"]
