"""One error family: every exception class tvirt defines is a TvirtError, and a core
failure that no command catches itself still ends the command as one sentence on stderr
with the exit status its class carries (the one handler in the CLI)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import tvirt
from tvirt.cli import main
from tvirt.errors import EXIT_FAILED, EXIT_USAGE, TvirtError

NO_DEVICE = "/dev/tvirt-family-no-such-device"


def _core_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(tvirt.__path__, "tvirt.")
        if not info.name.startswith(("tvirt.screens", "tvirt.themes"))
    ]


def test_every_exception_class_in_tvirt_is_a_tvirt_error() -> None:
    defined: dict[str, type[BaseException]] = {}
    for name in _core_modules():
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == name
            ):
                defined[f"{name}.{attr}"] = obj
    # The walk found the families it must (so an empty walk cannot pass).
    assert {"tvirt.storage_model.StorageError", "tvirt.wipe.WipeRefused",
            "tvirt.migrate.MigrateError", "tvirt.uri.URIError"} <= set(defined)
    outside = sorted(name for name, cls in defined.items() if not issubclass(cls, TvirtError))
    assert outside == []


def test_exit_codes_follow_the_class() -> None:
    from tvirt.config import ConfigError
    from tvirt.sizes import SizeError
    from tvirt.storage import StorageError
    from tvirt.transfers import Cancelled
    from tvirt.uri import URIError
    from tvirt.validate import Invalid

    assert StorageError("x").exit_code == EXIT_FAILED
    assert Cancelled("x").exit_code == 130
    for usage in (ConfigError, SizeError, URIError, Invalid):
        assert usage("x").exit_code == EXIT_USAGE
        assert isinstance(usage("x"), ValueError)  # older `except ValueError` still holds


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_storage_error_from_the_test_driver_is_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "-c", "test:///default", "vol", "delete", "default-pool",
                          "nosuch.img", "--yes")
    assert (code, out) == (EXIT_FAILED, "")
    assert err == "tvirt: Pool default-pool has no volume named nosuch.img.\n"


def test_size_error_in_a_storage_command_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _out, err = _run(capsys, "-c", "test:///default", "vol", "resize", "default-pool",
                           "disk.img", "10Q")
    assert code == EXIT_USAGE
    assert err.startswith("tvirt: 'Q' is not a unit of size;") and err.count("\n") == 1


def test_wipe_refused_on_this_host_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    # The real host's lsblk: a device that does not exist is refused before anything runs.
    code, out, err = _run(capsys, "-c", "test:///default", "wipe", "localhost", NO_DEVICE,
                          "--method", "zero", f"--yes-i-mean-{NO_DEVICE}")
    assert (code, out) == (EXIT_FAILED, "")
    assert err.endswith(f"tvirt: {NO_DEVICE} is not a whole block device on that host.\n")
    assert "Traceback" not in err


def test_migrate_error_from_the_worker_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A name tvirt refuses to migrate: the MigrateError is raised on the host's worker.
    node = tmp_path / "node.xml"
    node.write_text(
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
        "<mhz>2000</mhz></cpu><memory>8388608</memory>"
        "<domain type='test'><name>web 01</name><memory>65536</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os></domain></node>"
    )
    code, out, err = _run(capsys, "-c", f"test://{node}", "migrate", "web 01",
                          "test:///default")
    assert (code, out) == (EXIT_FAILED, "")
    assert err == "tvirt: 'web 01' is not a name tvirt can migrate.\n"
