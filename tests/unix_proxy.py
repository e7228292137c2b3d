"""A Unix-socket proxy in front of libvirtd's socket, to make a daemon vanish and return.

libvirtd is shared by everyone on the test bed, so a test must not stop it. Pointing a
client at this proxy (``qemu:///system?socket=PATH``) instead gives the same effect for that
client alone: ``stop()`` cuts every connection (the client sees EOF) and removes PATH (new
connections fail: no such file); ``start()`` brings PATH back.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"


class UnixProxy:
    def __init__(self, path: Path, target: str = LIBVIRT_SOCKET) -> None:
        self.path = path
        self.target = target
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="unix-proxy", daemon=True)
        self._thread.start()
        opening = asyncio.start_unix_server(self._handle, path=str(self.path))
        self._server = asyncio.run_coroutine_threadsafe(opening, loop).result(10)

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = self._thread = self._server = None
        self.path.unlink(missing_ok=True)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_unix_connection(self.target)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            # Cancelled by stop(), or one side closed: close both, so the client sees EOF.
            client_w.close()
            server_w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
        await writer.drain()
    writer.close()
