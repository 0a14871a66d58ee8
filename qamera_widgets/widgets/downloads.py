"""The files a canvas makes of its selection for the browser: a contact sheet (PNG or PDF) or a zip of the
originals, one at a time, sent back as a `file` message for the view that asked. What goes into each file
is `engine.pictures.sheets`' (`make_download`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..client.models import Scenery
from . import protocol
from .basics import TaskSet, logger

__all__ = ["SELECTION_DOWNLOADS", "DownloadQueue"]

SELECTION_DOWNLOADS = ("sheet", "pdf", "zip")

MakeFile = Callable[[str, Sequence[Scenery]], Awaitable[tuple[str, str, bytes]]]
"""(what, the pictures) -> (file name, MIME type, bytes)."""


class DownloadQueue:
    """The selection's downloads of one canvas, one at a time: eight clicks must not hold eight zips."""

    def __init__(
        self,
        *,
        selected: Callable[[], list[Scenery]],
        make: MakeFile,
        message: Callable[[], str],
        say: Callable[..., None],
        send: Callable[..., None],
    ) -> None:
        """`selected`: the pictures chosen now; `make`: the file of them; `message`: the canvas's message
        line as it is now, `say(text, error=...)` to change it; `send`: anywidget's."""
        self._selected = selected
        self._make = make
        self._message = message
        self._say = say
        self._send = send
        self._tasks = TaskSet()
        self._making: asyncio.Task[Any] | None = None
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._tasks.cancel_all()

    def start(self, what: str, request: str) -> None:
        """Make `what` ("sheet", "pdf" or "zip") of the selection; `request` goes back with the file."""
        if what not in SELECTION_DOWNLOADS:
            return
        if not self._selected():
            self._say("Select some pictures first: tick the box on a card.", error=True)
            return
        if self._making is not None and not self._making.done():
            self._say("A download is being made already; it arrives in a moment.")
            return
        self._making = self._tasks.spawn(self._download(what, request), name=f"canvas-download-{what}")

    async def _download(self, what: str, request: str) -> None:
        try:
            name, mime, data = await self._make(what, self._selected())
        except Exception as exc:
            logger.warning("canvas: download failed: %s", type(exc).__name__)
            self._say(f"The download could not be made: {exc}", error=True)
            return
        if self._closed:
            return
        if what != "zip" or self._message().startswith("Fetching"):
            self._say("")
        self._send(protocol.file_message(name, mime, request), buffers=[data])
