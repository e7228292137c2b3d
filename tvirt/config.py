"""The TOML config in the XDG config dir. It never holds secrets."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
import tomli_w

APP_NAME = "tvirt"
DEFAULT_CONSOLE_ESCAPE = "ctrl+]"
# The keys that can leave a console: Ctrl plus one of these. Not Ctrl+[, which is Escape
# itself and starts every arrow and function key.
ESCAPE_CHARS = "abcdefghijklmnopqrstuvwxyz@\\]^_"



class ConfigError(ValueError):
    """The config file exists but cannot be used. It is left untouched."""


@dataclass
class Config:
    uris: list[str] = field(default_factory=list)
    readonly: bool = False
    theme: str = ""
    screen_reader: bool = False
    console_escape: str = DEFAULT_CONSOLE_ESCAPE
    path: Path | None = None


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def config_path() -> Path:
    override = os.environ.get("TVIRT_CONFIG")
    return Path(override) if override else config_dir() / "config.toml"


def load(path: Path | None = None) -> Config:
    """Read the config; a missing file is an empty config, a bad one a ConfigError."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(path=path)
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror}.") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"The config file {path} is not valid TOML ({exc}); it was left as it is."
        ) from None
    uris = data.get("connections", {}).get("uris", [])
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ConfigError(f"In {path}, connections.uris must be a list of strings.")
    ui = data.get("ui", {})
    if not isinstance(ui, dict):
        raise ConfigError(f"In {path}, [ui] must be a table.")
    readonly = data.get("connections", {}).get("readonly", False)
    console = data.get("console", {})
    if not isinstance(console, dict):
        raise ConfigError(f"In {path}, [console] must be a table.")
    escape = str(console.get("escape", DEFAULT_CONSOLE_ESCAPE)).strip().lower()
    if not valid_escape(escape):
        raise ConfigError(
            f"In {path}, console.escape must be Ctrl plus a letter or one of @ \\ ] ^ _, "
            f'written like "ctrl+]"; {escape!r} is not.'
        )
    return Config(
        uris=list(uris),
        readonly=bool(readonly),
        theme=str(ui.get("theme", "")),
        screen_reader=bool(ui.get("screen_reader", False)),
        console_escape=escape,
        path=path,
    )


def save(config: Config, path: Path | None = None) -> Path:
    """Write atomically with 0600 permissions; the file holds no secrets."""
    path = path or config.path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {
        "connections": {"uris": config.uris, "readonly": config.readonly},
        "ui": {"theme": config.theme, "screen_reader": config.screen_reader},
        "console": {"escape": config.console_escape},
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        tomli_w.dump(data, handle)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def valid_escape(spec: str) -> bool:
    """True for "ctrl+X" where X is a letter or one of @ \\ ] ^ _."""
    prefix, _, char = spec.partition("+")
    return prefix == "ctrl" and len(char) == 1 and char in ESCAPE_CHARS
