"""The large view's half of `ResultsCanvas`: previews at the size the browser shows, prefetched
neighbours and compared pictures, and the product cutout. The rules are `engine.pictures.previews` and
`engine.pictures.product`; this shell only moves bytes between the loader and the browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import traitlets

from ..client.models import Scenery
from ..engine.pictures import previews
from ..engine.pictures.loader import ThumbnailLoader
from ..engine.pictures.product import Cutout, ProductError, read_cutout
from . import protocol
from ._common import TaskSet

__all__ = ["LargeView"]


class LargeView(traitlets.HasTraits):
    """Mixed into `ResultsCanvas`, which provides the attributes annotated here."""

    preview_px = traitlets.Int(
        previews.DEFAULT_PREVIEW_PX,
        help="Longest side the large view fetches pictures at: set by the browser from its size, capped.",
    ).tag(sync=True)
    preview = traitlets.Dict(help="What the large view shows about `open_id`.").tag(sync=True)
    product = traitlets.Dict(help="The product cutout held ({'w', 'h', 'v'}), or {} when there is none.").tag(
        sync=True
    )

    loader: ThumbnailLoader
    _tasks: TaskSet
    _known: dict[str, Scenery]
    _closed: bool
    _previews: previews.PreviewCache
    _cutout: Cutout | None = None

    if TYPE_CHECKING:  # provided by anywidget and ResultsCanvas; stubs here would shadow them

        def send(self, content: dict[str, Any], buffers: Any = None) -> None: ...
        def _facts(self, scenery: Scenery) -> dict[str, Any]: ...
        def _say(self, text: str, *, error: bool = False) -> None: ...

    @traitlets.validate("preview_px")
    def _valid_preview_px(self, proposal: Mapping[str, Any]) -> int:
        try:
            return previews.preview_px(proposal["value"])
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from None

    def set_product(self, source: str | Path | bytes | bytearray | memoryview | None) -> None:
        """Preview a product cutout (a PNG or WebP with transparency) over the backgrounds in the large
        view; None removes it. Raises `ProductError` with what to fix, and keeps the previous cutout."""
        self.show_cutout(None if source is None else read_cutout(source))

    def show_cutout(self, cutout: Cutout | None) -> None:
        """Show an already checked cutout (what `Studio.set_product` hands each of its views)."""
        self._cutout = cutout
        version = int(self.product.get("v", 0)) + 1
        self.product = {} if cutout is None else {"w": cutout.width, "h": cutout.height, "v": version}
        self._send_product()

    def _send_product(self) -> None:
        cutout = self._cutout
        if cutout is not None and not self._closed:
            content = {"kind": protocol.PRODUCT, "fmt": cutout.format, "v": self.product.get("v", 0)}
            self.send(content, buffers=[cutout.data])

    async def _product_from_browser(self, buffers: Sequence[Any]) -> None:
        """The file picker's cutout: checked in a thread like any other; a refusal is the view's message."""
        if len(buffers) != 1:
            self._say("The product file did not arrive: choose it again.", error=True)
            return
        data = bytes(buffers[0])
        try:
            cutout = await asyncio.to_thread(read_cutout, data)
        except ProductError as exc:
            self._say(str(exc), error=True)
            return
        if not self._closed:
            self._say("")
            self.show_cutout(cutout)

    def _on_open_id(self, change: dict[str, Any]) -> None:
        if self._closed:
            return
        scenery = self._known.get(change["new"])
        if scenery is None:
            self.preview = {}
            return
        details = {**self._facts(scenery), "url": protocol.web_link(scenery.thumbnail)}
        if details["state"] != "done" or not scenery.thumbnail:
            self.preview = {**details, "image": "none"}
            return
        cached = self._previews.get(scenery.id, scenery.thumbnail, self.preview_px)
        if cached is not None:
            self.preview = {**details, "image": "ready", "w": cached.width, "h": cached.height}
        else:
            self.preview = {**details, "image": "loading"}
            self._tasks.spawn(self._load_preview(scenery, push=False), name="canvas-preview")

    def _send_previews(self, content: Mapping[str, Any]) -> None:
        """Answers `want`: the open picture when it is ready, and each of `previews` (neighbours to
        prefetch, pictures compared), sent as soon as it is loaded."""
        wanted = previews.wanted_previews(content.get("previews"), self._known)
        opened = content.get("preview")
        if isinstance(opened, str) and opened in self._known and opened not in wanted:
            wanted.insert(0, opened)
        for scenery_id in wanted:
            scenery = self._known[scenery_id]
            if not scenery.is_done or not scenery.thumbnail:
                continue
            big = self._previews.get(scenery_id, scenery.thumbnail, self.preview_px)
            if big is not None:
                self._send_preview(scenery_id, big.format, big.data, big.width, big.height)
            elif scenery_id != opened:  # the open one is already loading since open_id changed
                self._tasks.spawn(self._load_preview(scenery, push=True), name="canvas-prefetch")

    def _send_preview(self, scenery_id: str, fmt: str, data: bytes, w: int, h: int) -> None:
        content = {"kind": protocol.PREVIEW, "id": scenery_id, "fmt": fmt, "w": w, "h": h}
        self.send(content, buffers=[data])

    async def _load_preview(self, scenery: Scenery, *, push: bool) -> None:
        url, px = scenery.thumbnail or "", self.preview_px
        if self._previews.get(scenery.id, url, px) is not None:
            return
        big = await self.loader.preview(url, max_px=px)
        if self._closed:
            return
        ok = big.placeholder is None
        if ok:
            self._previews.put(scenery.id, url, px, big)
            if push:
                self._send_preview(scenery.id, big.format, big.data, big.width, big.height)
        if self.preview.get("id") == scenery.id and self.preview.get("image") != "ready":
            extra = {"image": "ready", "w": big.width, "h": big.height} if ok else {"image": "failed"}
            self.preview = {**self.preview, **extra}
