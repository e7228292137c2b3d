"""The TOML config in the XDG config dir. It never holds secrets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tvirt.errors import UsageError
from tvirt.tiers import (
    DEFAULT_FULL_STATS_LIMIT,
    DEFAULT_TICK_BUDGET,
    budget_problem,
    limit_problem,
)

APP_NAME = "tvirt"
T = TypeVar("T")
DEFAULT_CONSOLE_ESCAPE = "ctrl+]"
# The keys that can leave a console: Ctrl plus one of these. Not Ctrl+[, which is Escape
# itself and starts every arrow and function key.
ESCAPE_CHARS = "abcdefghijklmnopqrstuvwxyz@\\]^_"


class ConfigError(UsageError, ValueError):
    """The config file exists but cannot be used. It is left untouched."""


# Live stats: how often each host is sampled, and how much history the graphs keep.
DEFAULT_INTERVAL = 2.0
MIN_INTERVAL = 0.5
MAX_INTERVAL = 60.0
DEFAULT_HISTORY_MINUTES = 10.0


def interval_problem(value: object) -> str | None:
    """Why `value` is not a usable stats interval in seconds, or None if it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"the stats interval must be a number of seconds, not {value!r}"
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        return (
            f"the stats interval must be between {MIN_INTERVAL:g} and {MAX_INTERVAL:g} "
            f"seconds, not {value:g}"
        )
    return None


@dataclass
class Config:
    uris: list[str] = field(default_factory=list)
    readonly: bool = False
    theme: str = ""
    screen_reader: bool = False
    interval: float = DEFAULT_INTERVAL
    history_minutes: float = DEFAULT_HISTORY_MINUTES
    # Above this many VMs in all, disk, network and per-vCPU stats are read only for the
    # VMs whose details are open (tvirt.tiers).
    full_stats_limit: int = DEFAULT_FULL_STATS_LIMIT
    # Above this many VMs in all, each tick reads only some of them (tvirt.tiers).
    vms_per_tick: int = DEFAULT_TICK_BUDGET
    console_escape: str = DEFAULT_CONSOLE_ESCAPE
    # Commands tvirt runs on a host share one ssh connection per host (tvirt.sshmux).
    share_connections: bool = True
    path: Path | None = None


# platformdirs, tomllib and tomli_w are imported where used: `tvirt --version` and the
# parser's help read this module's constants, and should not pay for them.
def config_dir() -> Path:
    import platformdirs

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
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"The config file {path} is not valid TOML ({exc}); it was left as it is."
        ) from None
    connections = data.get("connections", {})
    if not isinstance(connections, dict):
        raise ConfigError(f"In {path}, [connections] must be a table.")
    uris = connections.get("uris", [])
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ConfigError(f"In {path}, connections.uris must be a list of strings.")
    ui = data.get("ui", {})
    if not isinstance(ui, dict):
        raise ConfigError(f"In {path}, [ui] must be a table.")
    readonly = _typed(connections, "readonly", bool, False, f"In {path}, connections.readonly")
    interval = ui.get("interval", DEFAULT_INTERVAL)
    problem = interval_problem(interval)
    if problem:
        raise ConfigError(f"In {path}, [ui] interval is not usable: {problem}.")
    minutes = ui.get("history_minutes", DEFAULT_HISTORY_MINUTES)
    number = isinstance(minutes, int | float) and not isinstance(minutes, bool)
    if not number or not 1 <= minutes <= 1440:
        raise ConfigError(
            f"In {path}, [ui] history_minutes must be a number of minutes from 1 to 1440, "
            f"not {minutes!r}."
        )
    limit = ui.get("full_stats_limit", DEFAULT_FULL_STATS_LIMIT)
    problem = limit_problem(limit)
    if problem:
        raise ConfigError(f"In {path}, [ui] full_stats_limit is not usable: {problem}.")
    budget = ui.get("vms_per_tick", DEFAULT_TICK_BUDGET)
    problem = budget_problem(budget)
    if problem:
        raise ConfigError(f"In {path}, [ui] vms_per_tick is not usable: {problem}.")
    console = data.get("console", {})
    if not isinstance(console, dict):
        raise ConfigError(f"In {path}, [console] must be a table.")
    escape = str(console.get("escape", DEFAULT_CONSOLE_ESCAPE)).strip().lower()
    if not valid_escape(escape):
        raise ConfigError(
            f"In {path}, console.escape must be Ctrl plus a letter or one of @ \\ ] ^ _, "
            f'written like "ctrl+]"; {escape!r} is not.'
        )
    ssh = data.get("ssh", {})
    if not isinstance(ssh, dict):
        raise ConfigError(f"In {path}, [ssh] must be a table.")
    share = _typed(ssh, "share_connections", bool, True, f"In {path}, ssh.share_connections")
    return Config(
        uris=list(uris),
        readonly=readonly,
        theme=_typed(ui, "theme", str, "", f"In {path}, ui.theme"),
        screen_reader=_typed(ui, "screen_reader", bool, False, f"In {path}, ui.screen_reader"),
        interval=float(interval),
        history_minutes=float(minutes),
        full_stats_limit=limit,
        vms_per_tick=budget,
        console_escape=escape,
        share_connections=share,
        path=path,
    )


def _typed(table: dict[str, object], key: str, kind: type[T], default: T, where: str) -> T:
    """A value of the expected TOML type, or a ConfigError naming the key ("yes" is no bool)."""
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise ConfigError(f"{where} must be a {kind.__name__}, not {value!r}.")
    return value


def save(config: Config, path: Path | None = None) -> Path:
    """Write atomically with 0600 permissions; the file holds no secrets."""
    path = path or config.path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {
        "connections": {"uris": config.uris, "readonly": config.readonly},
        "ui": {
            "theme": config.theme,
            "screen_reader": config.screen_reader,
            "interval": config.interval,
            "history_minutes": config.history_minutes,
            "full_stats_limit": config.full_stats_limit,
            "vms_per_tick": config.vms_per_tick,
        },
        "console": {"escape": config.console_escape},
        "ssh": {"share_connections": config.share_connections},
    }
    import tomli_w

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
