"""An append-only log of what ran on which host, one timestamped line per step (0600)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import platformdirs


def default_path(name: str) -> Path:
    return Path(platformdirs.user_state_dir("tvirt")) / name


class StepLog:
    def __init__(self, path: Path, host: str, subject: str) -> None:
        self.path, self.host, self.subject = path, host, subject
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, text: str, host: str | None = None) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(f"{stamp} host={host or self.host} {self.subject} {text}\n")
