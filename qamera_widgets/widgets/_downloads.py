"""The downloads half of `ResultsCanvas`: a contact sheet, PDF or zip of the selection, one at a time.

A mixin kept apart so the canvas module stays readable; `ResultsCanvas` sets the attributes it reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..client.models import Scenery
from ..engine.pictures import sheets as exports
from ..engine.pictures.loader import ThumbnailLoader
from . import protocol
from ._common import TaskSet, logger


class Downloads:
    """`_start_download` for the browser's download intent, and the task that makes the file."""

    loader: ThumbnailLoader
    _tasks: TaskSet
    _closed: bool
    _downloading: asyncio.Task[Any] | None

    if TYPE_CHECKING:  # provided by anywidget, Reviewing and ResultsCanvas; stubs here would shadow them
        message: str

        @property
        def selected(self) -> list[Scenery]: ...
        def send(self, content: dict[str, Any], buffers: Any = None) -> None: ...
        def wait_pictures(self) -> Awaitable[None]: ...
        def _sheet_tiles(self, selected_only: bool) -> list[exports.SheetTile]: ...
        def _sheet_title(self) -> str: ...
        def _caption(self, scenery: Scenery) -> str: ...
        def _say(self, text: str, *, error: bool = False) -> None: ...

        _review_zip: Callable[..., Any]

    def _start_download(self, what: str, request: object = "") -> None:
        if what not in ("sheet", "pdf", "zip"):
            return
        echo = request[:64] if isinstance(request, str) else ""  # sent back: only the asking view saves
        if not self.selected:
            self._say("Select some pictures first: tick the box on a card.", error=True)
            return
        if self._downloading is not None and not self._downloading.done():
            # One download at a time per canvas: eight clicks must not hold eight zips in memory.
            self._say("A download is being made already; it arrives in a moment.")
            return
        self._downloading = self._tasks.spawn(self._download(what, echo), name=f"canvas-download-{what}")

    async def _download(self, what: str, request: str = "") -> None:
        try:
            made = await exports.make_download(
                what,
                self.selected,
                sheet=lambda: (self._sheet_tiles(selected_only=True), self._sheet_title()),
                wait_pictures=self.wait_pictures,
                caption=self._caption,
                original=self.loader.original,
                say=self._say,
                zipped=self._review_zip,  # the originals with review.csv beside them
            )
        except Exception as exc:
            logger.warning("canvas: download failed: %s", type(exc).__name__)
            self._say(f"The download could not be made: {exc}", error=True)
            return
        if self._closed:
            return
        name, mime, data = made
        if what != "zip" or self.message.startswith("Fetching"):
            self._say("")
        self.send({"kind": protocol.FILE, "name": name, "mime": mime, "request": request}, buffers=[data])
