"""Uploads and downloads of volume bytes through libvirt streams, with progress events.

The loop runs on the caller's thread and sends each chunk as one job on the host's
worker, so a long transfer never holds the host's thread for more than one chunk and can
be cancelled (``progress.CancelToken``) between chunks. Progress goes to one
``progress.Report``: Started, Advanced after each chunk, then Finished or Cancelled.
"""

from __future__ import annotations

import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol, TypeVar

import libvirt

from tvirt import progress as pg
from tvirt.errors import EXIT_INTERRUPTED, explain
from tvirt.sizes import format_size
from tvirt.storage import find_volume, guarded, refuse_in_use, volume_delete
from tvirt.storage_model import StorageError

T = TypeVar("T")
CHUNK = 4 * 1024 * 1024


class Cancelled(StorageError):
    """The person cancelled the transfer; the sentence says what was undone (exit
    status 130, as for Ctrl-C)."""

    exit_code = EXIT_INTERRUPTED


class Worker(Protocol):
    def call(self, fn: Callable[[libvirt.virConnect], T]) -> Future[T]: ...


class _Meter:
    """Counts bytes and reports them; elapsed time from the start, on a monotonic clock."""

    def __init__(self, report: pg.Report, started: pg.Started) -> None:
        self.report, self.total = report, started.total
        self.last = pg.Advanced(0, self.total)
        self._start = time.monotonic()
        report(started)

    def add(self, count: int) -> None:
        elapsed = max(time.monotonic() - self._start, 1e-6)
        self.last = pg.Advanced(self.last.done + count, self.total, elapsed=elapsed)
        self.report(self.last)


def download(
    worker: Worker,
    pool_name: str,
    name: str,
    dest: Path,
    *,
    progress: pg.Report = pg.ignore,
    transfer: pg.CancelToken | None = None,
) -> pg.Advanced:
    """Copy a volume's bytes into a local file through a libvirt stream; returns the last
    progress (bytes and seconds).

    The bytes go to a hidden temp file beside dest, renamed onto dest only when the whole
    volume has arrived; on cancel or failure the temp file is removed and dest is untouched.
    """
    transfer = transfer or pg.CancelToken()
    cancelled = f"Download of {name} cancelled; {dest} was not written."

    def opening(conn: libvirt.virConnect) -> tuple[libvirt.virStream, int]:
        vol = find_volume(conn, pool_name, name)
        try:
            total = int(vol.infoFlags(libvirt.VIR_STORAGE_VOL_GET_PHYSICAL)[2])
        except libvirt.libvirtError:
            total = int(vol.info()[1])
        if _vol_format(vol) == "raw":
            total = int(vol.info()[1])
        stream = conn.newStream(0)
        guarded(f"download volume {name}", lambda: vol.download(stream, 0, 0, 0))
        return stream, total

    stream, total = worker.call(opening).result()
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        _abort(worker, stream)
        raise StorageError(f"Could not write {dest}: {exc.strerror or exc}.") from None
    meter = _Meter(progress, pg.Started(name, "downloaded", total))
    tmp = Path(tmp_name)
    finished = placed = False
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                if transfer.cancelled:
                    raise Cancelled(cancelled)
                data = worker.call(lambda _c: stream.recv(CHUNK)).result()
                if isinstance(data, int) or not data:
                    if data == -2:
                        continue
                    break
                out.write(data)
                meter.add(len(data))
            out.flush()
            os.fsync(out.fileno())
        worker.call(lambda _c: stream.finish()).result()
        finished = True
        os.replace(tmp, dest)
        placed = True
    except Cancelled:
        progress(pg.Cancelled(cancelled))
        raise
    except libvirt.libvirtError as exc:
        raise StorageError(f"Could not download volume {name}: {explain(exc)}") from None
    except KeyboardInterrupt:
        progress(pg.Cancelled(cancelled))
        raise Cancelled(cancelled) from None
    except OSError as exc:
        # A full disk, a quota, an I/O error: the partial copy is removed below.
        kept = f" and {dest} is as it was" if dest.exists() else ""
        raise StorageError(
            f"Could not write {dest}: {exc.strerror or exc}; the partial copy was removed{kept}."
        ) from None
    finally:
        if not finished:
            _abort(worker, stream)
        if not placed:
            tmp.unlink(missing_ok=True)
    done = format_size(meter.last.done)
    progress(pg.Finished(f"Downloaded {done} of volume {name} into {dest}."))
    return meter.last


def upload(
    worker: Worker,
    pool_name: str,
    name: str,
    source: Path,
    *,
    progress: pg.Report = pg.ignore,
    transfer: pg.CancelToken | None = None,
    created: bool = False,
    force: bool = False,
) -> pg.Advanced:
    """Write a local file into a volume through a libvirt stream; returns the last progress.

    A cancelled or failed upload never leaves a half-written volume behind: a volume that
    was created for this upload (created=True) is deleted; an existing volume, whose old
    contents are already partly overwritten, is wiped with zeros and the caller is told.
    """
    transfer = transfer or pg.CancelToken()
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise StorageError(f"Could not read {source}: {exc.strerror or exc}.") from None
    if size == 0:
        raise StorageError(f"{source} is empty; there is nothing to upload.")

    def opening(conn: libvirt.virConnect) -> libvirt.virStream:
        vol = find_volume(conn, pool_name, name)
        if not force:
            refuse_in_use(conn, pool_name, name, "upload to")
        capacity = int(vol.info()[1])
        if _vol_format(vol) == "raw" and size > capacity:
            raise StorageError(
                f"{source} ({format_size(size)}) is larger than volume {name} "
                f"({format_size(capacity)}); resize the volume first."
            )
        stream = conn.newStream(0)
        guarded(f"upload to volume {name}", lambda: vol.upload(stream, 0, size, 0))
        return stream

    stream = worker.call(opening).result()
    meter = _Meter(progress, pg.Started(name, "uploaded", size))
    try:
        with source.open("rb") as src:
            while meter.last.done < size:
                if transfer.cancelled:
                    raise Cancelled(f"Upload to {name} cancelled")
                data = src.read(CHUNK)
                if not data:
                    raise StorageError(f"{source} became shorter while it was being uploaded")
                _send_all(worker, stream, data)
                meter.add(len(data))
        worker.call(lambda _c: stream.finish()).result()
    except BaseException as exc:
        # Stop the stream first: libvirt keeps the volume busy while it is open.
        _abort(worker, stream)
        undo = _undo(worker, pool_name, name, created)
        if isinstance(exc, KeyboardInterrupt | Cancelled):
            sentence = f"Upload to {name} cancelled.{undo}"
            progress(pg.Cancelled(sentence))
            raise Cancelled(sentence) from None
        if isinstance(exc, libvirt.libvirtError):
            raise StorageError(f"Could not upload to volume {name}: {explain(exc)}{undo}") from None
        if isinstance(exc, StorageError):
            raise type(exc)(str(exc).rstrip(".") + "." + undo) from None
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise StorageError(f"Could not read {source}: {reason}.{undo}") from None
        raise
    done = format_size(meter.last.done)
    progress(pg.Finished(f"Uploaded {done} from {source} into volume {name}."))
    return meter.last


def _send_all(worker: Worker, stream: libvirt.virStream, data: bytes) -> None:
    view = memoryview(data)
    while view:
        piece = bytes(view)

        def send(_conn: libvirt.virConnect, piece: bytes = piece) -> int:
            return int(stream.send(piece))

        sent = worker.call(send).result()
        if sent > 0:
            view = view[sent:]


def _undo(worker: Worker, pool_name: str, name: str, created: bool) -> str:
    try:
        if created:
            worker.call(lambda c: volume_delete(c, pool_name, name, force=True)).result()
            return f" Volume {name}, created for this upload, was deleted."
        worker.call(
            lambda c: find_volume(c, pool_name, name).wipePattern(
                libvirt.VIR_STORAGE_VOL_WIPE_ALG_ZERO, 0
            )
        ).result()
        return f" Volume {name} was partly overwritten, so it was wiped with zeros."
    except (libvirt.libvirtError, StorageError) as exc:
        return f" Volume {name} is partly written and could not be cleaned: {exc}"


def _abort(worker: Worker, stream: libvirt.virStream) -> None:
    try:
        worker.call(lambda _c: stream.abort()).result()
    except libvirt.libvirtError:
        pass  # already finished or broken


def _vol_format(vol: libvirt.virStorageVol) -> str:
    fmt = ET.fromstring(vol.XMLDesc(0)).find("target/format")
    return fmt.get("type", "") if fmt is not None else ""
