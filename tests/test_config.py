from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tvirt import config
from tvirt.manager import choose_uris


def test_saved_config_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    cfg = config.Config(uris=["qemu:///system", "test:///default"], readonly=True, path=path)
    config.save(cfg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = config.load(path)
    assert loaded.uris == cfg.uris and loaded.readonly
    assert "password" not in path.read_text().lower()


def test_save_replaces_the_file_whole(tmp_path: Path) -> None:
    # Atomic: the new text is written beside the file and renamed over it, so the old
    # file is never truncated or half-written; a second name for it still reads it whole.
    path = tmp_path / "config.toml"
    config.save(config.Config(uris=["test:///default"], path=path))
    old = tmp_path / "old.toml"
    os.link(path, old)
    before = old.read_bytes()
    config.save(config.Config(uris=["qemu:///system"], readonly=True, path=path))
    assert old.read_bytes() == before
    assert path.stat().st_ino != old.stat().st_ino
    assert config.load(path).uris == ["qemu:///system"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "old.toml"]


def test_corrupt_config_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[connections\nuris = 3")
    before = path.read_bytes()
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert "not valid TOML" in str(caught.value)
    assert path.read_bytes() == before


def test_wrong_types_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[connections]\nuris = "qemu:///system"\n')
    with pytest.raises(config.ConfigError, match="list of strings"):
        config.load(path)


def test_uri_order_flag_env_config_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config.Config(uris=["test:///default"], path=tmp_path / "c.toml")
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "qemu+ssh://root@h/system")
    assert choose_uris(["qemu:///session"], cfg) == (["qemu:///session"], "--connect")
    assert choose_uris([], cfg)[0] == ["qemu+ssh://root@h/system"]
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")
    assert choose_uris([], cfg)[0] == ["test:///default"]
    uris, source = choose_uris([], config.Config())
    expected = (
        "qemu:///system"
        if any(
            p.exists()
            for p in (
                Path("/run/libvirt/libvirt-sock"),
                Path("/run/libvirt/virtqemud-sock"),
                Path("/var/run/libvirt/libvirt-sock"),
            )
        )
        else "test:///default"
    )
    assert uris == [expected]
    assert source


def test_demo_default_without_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A machine without libvirtd: point the socket list at paths that do not exist.
    import tvirt.manager as manager

    monkeypatch.delenv("LIBVIRT_DEFAULT_URI", raising=False)
    monkeypatch.setattr(manager, "SYSTEM_SOCKETS", (tmp_path / "none",))
    uris, source = choose_uris([], config.Config())
    assert uris == ["test:///default"] and "demo" in source


def test_config_path_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TVIRT_CONFIG", str(tmp_path / "x.toml"))
    assert config.config_path() == tmp_path / "x.toml"
    assert os.environ["TVIRT_CONFIG"].endswith("x.toml")
