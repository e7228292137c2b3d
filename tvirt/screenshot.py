"""A screenshot of a VM's graphical display: the bytes libvirt sends, and their decoding.

`grab` runs on the host's worker: one `virDomainScreenshot` stream read to its end, and a
digest of the bytes, so an unchanged frame is known without decoding it. `decode` (Pillow)
runs off both the worker and the event loop, and only for frames that changed; `scale`
then brings the picture to the pixels the terminal shows, in the same thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libvirt

from tvirt.console import CHUNK, ConsoleError

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass(frozen=True)
class Frame:
    """One screenshot as libvirt sent it (PNG from QEMU, PPM from older ones)."""

    mime: str
    data: bytes
    digest: bytes  # BLAKE2b of the bytes: equal digests, equal pictures

    @property
    def size(self) -> int:
        return len(self.data)


def frame_of(mime: str, data: bytes) -> Frame:
    return Frame(mime, data, hashlib.blake2b(data, digest_size=16).digest())


def grab(conn: libvirt.virConnect, uuid: str) -> Frame:
    """virDomainScreenshot of the first screen, undecoded (run it on the host's worker)."""
    dom = conn.lookupByUUIDString(uuid)
    stream = conn.newStream(0)
    try:
        mime = dom.screenshot(stream, 0, 0)
        chunks = []
        while True:
            data = stream.recv(CHUNK)
            if not isinstance(data, bytes) or not data:
                break
            chunks.append(data)
        stream.finish()
    except libvirt.libvirtError:
        with contextlib.suppress(libvirt.libvirtError):
            stream.abort()
        # libvirt's "Requested operation is not valid: domain is not running" told plainly.
        if not _active(dom):
            raise ConsoleError(
                f"{dom.name()} is not running; start it to see its display."
            ) from None
        raise
    return frame_of(str(mime or ""), b"".join(chunks))


def _active(dom: libvirt.virDomain) -> bool:
    try:
        return bool(dom.isActive())
    except libvirt.libvirtError:
        return True  # gone or unreachable: libvirt's own sentence says more


def decode(frame: Frame) -> Image:
    """The frame as an RGB picture; a format Pillow cannot read is one sentence."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(frame.data)) as opened:
            return opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        kind = frame.mime or "an unknown format"
        raise ConsoleError(f"The screenshot came as {kind}, which tvirt cannot read.") from None


def scale(picture: Image, size: tuple[int, int]) -> Image:
    """The picture at size pixels (Pillow, off the event loop): drawing a picture already
    at the size the terminal shows costs the renderer no scaling of its own, and keeps
    the renderer's per-pixel work to the pixels shown. Unchanged without a size."""
    from PIL import Image as PILImage

    if size[0] <= 0 or size[1] <= 0 or size == picture.size:
        return picture
    # Bicubic, as textual-image scales when it is handed a bigger picture.
    return picture.resize(size, PILImage.Resampling.BICUBIC)


def take_screenshot(conn: libvirt.virConnect, uuid: str) -> Image:
    """Grab and decode at once (the one-off screenshot of the serial console's g key)."""
    return decode(grab(conn, uuid))
