"""The large view's pictures: previews at the size the browser shows, prefetched neighbours and compared
pictures, and the product cutout. The rules are `engine.pictures.previews` and `engine.pictures.product`;
this only moves bytes between the loader and the browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from ..client.models import Scenery
from ..engine.pictures import previews
from ..engine.pictures.loader import ThumbnailLoader
from ..engine.pictures.product import Cutout, ProductError, read_cutout
from . import protocol
from .basics import TaskSet

__all__ = ["LargeViewPictures"]


class LargeViewPictures:
    """What the large view of one canvas shows: the `preview` of the open picture, the previews the browser
    wants, and the product cutout over them.

    It is the only writer of the canvas's `preview` and `product` traits (through `show_preview` and
    `show_product`) and keeps their current values itself.
    """

    def __init__(
        self,
        *,
        loader: ThumbnailLoader,
        sceneries: Callable[[], Mapping[str, Scenery]],
        facts: Callable[[Scenery], dict[str, Any]],
        px: Callable[[], int],
        show_preview: Callable[[dict[str, Any]], None],
        show_product: Callable[[dict[str, Any]], None],
        say: Callable[..., None],
        send: Callable[..., None],
    ) -> None:
        """`sceneries`: the pictures the canvas knows; `facts`: what the large view says about one; `px`:
        the browser's `preview_px`; `say(text, error=...)`: the canvas's message line; `send`: anywidget's."""
        self._loader = loader
        self._sceneries = sceneries
        self._facts = facts
        self._px = px
        self._show_preview = show_preview
        self._show_product = show_product
        self._say = say
        self._send = send
        self._cache = previews.PreviewCache()
        self._tasks = TaskSet()
        self._preview: dict[str, Any] = {}
        self._product: dict[str, Any] = {}
        self._cutout: Cutout | None = None
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._tasks.cancel_all()

    def keep_only(self, ids: set[str]) -> None:
        """Drop the previews of pictures the canvas no longer knows."""
        self._cache.keep_only(ids)

    def show_cutout(self, cutout: Cutout | None) -> None:
        """Show an already checked cutout over the backgrounds (None removes it)."""
        self._cutout = cutout
        version = int(self._product.get("v", 0)) + 1
        self._product = {} if cutout is None else {"w": cutout.width, "h": cutout.height, "v": version}
        self._show_product(self._product)
        self.send_product()

    def send_product(self) -> None:
        """The cutout's bytes to the browser (also after each `hello`: a new view has none)."""
        cutout = self._cutout
        if cutout is not None and not self._closed:
            content = {"kind": protocol.PRODUCT, "fmt": cutout.format, "v": self._product.get("v", 0)}
            self._send(content, buffers=[cutout.data])

    def product_from_browser(self, message: protocol.BrowserMessage) -> None:
        """The file picker's cutout: checked in a thread like any other; a refusal is the view's message."""
        self._tasks.spawn(self._take_product(message.buffers), name="canvas-product")

    async def _take_product(self, buffers: list[Any]) -> None:
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

    def open(self, scenery_id: str) -> None:
        """The browser opened `scenery_id` in the large view ('' closed it): say what it shows, and load
        its picture at the browser's size unless it is ready."""
        if self._closed:
            return
        scenery = self._sceneries().get(scenery_id)
        if scenery is None:
            self._set_preview({})
            return
        details = {**self._facts(scenery), "url": protocol.web_link(scenery.thumbnail)}
        if details["state"] != "done" or not scenery.thumbnail:
            self._set_preview({**details, "image": "none"})
            return
        cached = self._cache.get(scenery.id, scenery.thumbnail, self._px())
        if cached is not None:
            self._set_preview({**details, "image": "ready", "w": cached.width, "h": cached.height})
        else:
            self._set_preview({**details, "image": "loading"})
            self._tasks.spawn(self._load(scenery, push=False), name="canvas-preview")

    def send_wanted(self, message: Mapping[str, Any]) -> None:
        """Answers `want`: the open picture when it is ready, and each of `previews` (neighbours to
        prefetch, pictures compared), sent as soon as it is loaded."""
        known = self._sceneries()
        wanted = previews.wanted_previews(message.get("previews"), known)
        opened = message.get("preview")
        if isinstance(opened, str) and opened in known and opened not in wanted:
            wanted.insert(0, opened)
        for scenery_id in wanted:
            scenery = known[scenery_id]
            if not scenery.is_done or not scenery.thumbnail:
                continue
            big = self._cache.get(scenery_id, scenery.thumbnail, self._px())
            if big is not None:
                self._send_preview(scenery_id, big.format, big.data, big.width, big.height)
            elif scenery_id != opened:  # the open one is already loading since open_id changed
                self._tasks.spawn(self._load(scenery, push=True), name="canvas-prefetch")

    def _set_preview(self, preview: dict[str, Any]) -> None:
        self._preview = preview
        self._show_preview(preview)

    def _send_preview(self, scenery_id: str, fmt: str, data: bytes, w: int, h: int) -> None:
        content = {"kind": protocol.PREVIEW, "id": scenery_id, "fmt": fmt, "w": w, "h": h}
        self._send(content, buffers=[data])

    async def _load(self, scenery: Scenery, *, push: bool) -> None:
        url, px = scenery.thumbnail or "", self._px()
        if self._cache.get(scenery.id, url, px) is not None:
            return
        big = await self._loader.preview(url, max_px=px)
        if self._closed:
            return
        ok = big.placeholder is None
        if ok:
            self._cache.put(scenery.id, url, px, big)
            if push:
                self._send_preview(scenery.id, big.format, big.data, big.width, big.height)
        if self._preview.get("id") == scenery.id and self._preview.get("image") != "ready":
            extra = {"image": "ready", "w": big.width, "h": big.height} if ok else {"image": "failed"}
            self._set_preview({**self._preview, **extra})
