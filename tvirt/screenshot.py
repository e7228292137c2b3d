"""A screenshot of a VM's graphical display, decoded for a preview in the terminal.

Apart from the serial console (tvirt/console.py): the screenshot is one libvirt stream
read to its end on the host's worker, then decoded here without any image library
(QEMU writes non-interlaced 8-bit PNG, or PPM), and shrunk into half-block cells.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import libvirt

from tvirt.console import CHUNK, ConsoleError


@dataclass(frozen=True)
class Picture:
    """An RGB image: width x height pixels, 3 bytes each, row by row."""

    width: int
    height: int
    rgb: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]


def take_screenshot(conn: libvirt.virConnect, uuid: str) -> Picture:
    """virDomainScreenshot of the first screen (run it on the host's worker thread)."""
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
        raise
    data = b"".join(chunks)
    if "png" in str(mime):
        return parse_png(data)
    if "portable-pixmap" in str(mime):
        return parse_ppm(data)
    raise ConsoleError(f"The screenshot came as {mime}, which tvirt cannot show.")


def parse_png(data: bytes) -> Picture:
    """A non-interlaced 8-bit RGB or RGBA PNG, as QEMU writes screenshots (stdlib only)."""
    import struct
    import zlib

    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ConsoleError("The screenshot is not a PNG image.")
    pos, idat = 8, []
    width = height = depth = colour = interlace = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ConsoleError("The screenshot's PNG format is not one tvirt can show.")
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    pos = 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        _unfilter(kind, line, previous, channels)
        rows.append(line)
        previous = line
    rgb = bytearray()
    for line in rows:
        if channels == 3:
            rgb += line
        else:
            for x in range(width):
                rgb += line[x * 4 : x * 4 + 3]
    return Picture(width, height, bytes(rgb))


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = prev[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            corner = prev[i - bpp] if i >= bpp else 0
            guess = left + up - corner
            pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
            best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + best) & 0xFF


def parse_ppm(data: bytes) -> Picture:
    """A binary PPM (P6, 8 bits per channel), as QEMU's screendump writes it."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    magic, width, height, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic != b"P6" or maxval != 255:
        raise ConsoleError("The screenshot is not an 8-bit binary PPM image.")
    pixels = data[pos + 1 : pos + 1 + width * height * 3]
    return Picture(width, height, pixels)


def half_blocks(
    picture: Picture, columns: int, rows: int
) -> list[list[tuple[tuple[int, int, int], tuple[int, int, int]]]]:
    """The picture scaled into columns x rows cells of two pixels each (top, bottom), for
    drawing with the upper half block character. The aspect ratio is kept."""
    scale = max(picture.width / max(columns, 1), picture.height / max(rows * 2, 1), 1e-9)
    out_w = max(1, min(columns, int(picture.width / scale)))
    out_h = max(1, min(rows, int(picture.height / scale / 2)))
    cells = []
    for row in range(out_h):
        line = []
        for col in range(out_w):
            x = min(picture.width - 1, int((col + 0.5) * scale))
            top = min(picture.height - 1, int((row * 2 + 0.5) * scale))
            bottom = min(picture.height - 1, int((row * 2 + 1.5) * scale))
            line.append((picture.pixel(x, top), picture.pixel(x, bottom)))
        cells.append(line)
    return cells
