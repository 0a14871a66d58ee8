"""ResultsCanvas: the one front-end view for pictures (library pages, runs of a prompt, the large view).

One anywidget model draws every card, run header, the selection bar and the large view, so a studio
stays a handful of widget models however long the session. Python holds the state as traits (``cards``,
``runs``, ``selected_ids``, ``open_id``, ...) and does the I/O on the kernel's loop; the browser
(``static/canvas.js``) only draws and sends intents back (`protocol`). Which picture each view has and
what changed since it was drawn is `engine.pictures`; what a card says, `engine.cards`; files that
leave the kernel (contact sheet, zip), `engine.exports`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from PIL import Image

from ..client.models import Scenery
from ..engine import cards as card_words
from ..engine import exports
from ..engine.exports import CONTACT_SHEET_LABEL_PX as CONTACT_SHEET_LABEL_PX
from ..engine.exports import CONTACT_SHEET_MARGIN as CONTACT_SHEET_MARGIN
from ..engine.exports import MAX_ZIP_BYTES as MAX_ZIP_BYTES
from ..engine.pictures import PictureSync
from ..engine.previews import PreviewCache
from ..engine.status import card_state as card_state
from ..engine.status import vote_state as vote_state
from ..engine.thumbnails import MAX_PREVIEW_PX, Thumbnail, ThumbnailLoader
from ..runtime.loops import wait_for_tasks as wait_for_tasks
from . import protocol
from ._common import Callbacks, TaskSet, escape, logger, loop_running
from ._downloads import Downloads
from ._large import LargeView
from .review import Reviewing

__all__ = [
    "CONTACT_SHEET_LABEL_PX",
    "CONTACT_SHEET_MARGIN",
    "MAX_ZIP_BYTES",
    "PREVIEW_MAX_PX",
    "ResultsCanvas",
    "card_state",
    "vote_state",
]

STATIC = Path(__file__).parent / "static"
PREVIEW_MAX_PX = MAX_PREVIEW_PX
"""The large view's longest side at most (the browser asks for its size, `preview_px`, up to this)."""
PATCH_WINDOW_SECONDS = 0.04
LOADER_CONCURRENCY = 24
MAX_LOADER_CONCURRENCY = 48
"""A view of up to this many pictures at once downloads them in one wave: each further wave waits on the
CDN's latency again (a 48-card page took two waves at 24)."""
MIN_THUMB_PX, MAX_THUMB_PX = 16, 1024
MAX_SELECTED = protocol.MAX_IDS
"""The largest selection: a contact sheet takes at most `exports.MAX_SHEET_TILES` of it, a zip is capped
by bytes."""


class ResultsCanvas(
    LargeView, Reviewing, Downloads, protocol.BrowserMessages, protocol.BrowserWrites, anywidget.AnyWidget
):
    """Cards of sceneries with thumbnails, a selection with actions, and a large view.

    Subclasses decide which cards exist (`SceneryGallery`: a page of the account's list;
    `StatusBoard`: the cards of each run) by calling `_show_cards` and `_update_cards`; this class
    loads their thumbnails, keeps the browser in step and answers the browser's intents.
    """

    _esm = STATIC / "canvas.js"
    _css = STATIC / "canvas.css"

    mode = traitlets.Unicode(
        "library", help="'library' (a paged list) or 'runs' (one group per prompt)."
    ).tag(sync=True)
    title = traitlets.Unicode("", help="The heading drawn above the cards.").tag(sync=True)
    cards = traitlets.List(
        traitlets.Dict(), help="The cards drawn now: small dicts, in display order (see card_state)."
    ).tag(sync=True)
    runs = traitlets.List(traitlets.Dict(), help="Run headers in 'runs' mode, newest first.").tag(sync=True)
    folded_runs = traitlets.Dict(help="The runs folded into one line: count and credits.").tag(sync=True)
    selected_ids = traitlets.List(
        traitlets.Unicode(), help="Ids of the selected sceneries, in the order they were selected."
    ).tag(sync=True)
    open_id = traitlets.Unicode("", help="The card shown in the large view ('' when it is closed).").tag(
        sync=True
    )
    message = traitlets.Unicode(
        "", help="One sentence under the toolbar: loading, empty, or what failed."
    ).tag(sync=True)
    message_kind = traitlets.Unicode("info", help="'info' or 'error': how `message` is drawn.").tag(sync=True)
    thumb_px = traitlets.Int(176, help="Side of the square thumbnails, in pixels.").tag(sync=True)
    thumb_size = traitlets.Enum(
        ("small", "medium", "large"), "medium", help="How large the grid draws thumbnails (browser-writable)."
    ).tag(sync=True)
    can_use_prompt = traitlets.Bool(False, help="Whether the large view offers 'Use this prompt'.").tag(
        sync=True
    )

    browser_writable = frozenset(
        {"selected_ids", "open_id", "mark_filter", "min_stars", "rating_first", "preview_px", "thumb_size"}
    )
    """What the view may change; everything else it only draws (see `protocol.BrowserWrites`)."""
    message_kinds = protocol.CANVAS_KINDS

    _ready = False  # a constructor that raised leaves a half-built object that ipywidgets still closes

    def __init__(
        self,
        *,
        loader: ThumbnailLoader | None = None,
        thumb_px: int = 176,
        shown_at_once: int = 0,
        **kwargs: Any,
    ) -> None:
        """``shown_at_once``: pictures the view shows together (a gallery's page), which the loader it makes
        when given none downloads together, from `LOADER_CONCURRENCY` up to `MAX_LOADER_CONCURRENCY`."""
        if isinstance(thumb_px, bool) or not isinstance(thumb_px, int) or not 16 <= thumb_px <= 1024:
            raise ValueError(f"thumb_px must be a whole number between 16 and 1024, not {thumb_px!r}.")
        self._owns_loader = loader is None
        # More connections than a browser's six per host: the kernel fetches a page in fewer waves.
        connections = min(max(LOADER_CONCURRENCY, shown_at_once), MAX_LOADER_CONCURRENCY)
        self.loader: ThumbnailLoader = loader or ThumbnailLoader(size=thumb_px, max_concurrency=connections)
        self._tasks = TaskSet()
        self._sync = PictureSync()
        self._loading: dict[str, str] = {}
        self._patch_scheduled = False
        self._previews = PreviewCache()
        self._known: dict[str, Scenery] = {}
        self._prompt_of: dict[str, str] = {}
        self._use_prompt_callbacks = Callbacks("use-prompt")
        self._thumb_work: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._downloading: asyncio.Task[Any] | None = None
        super().__init__(thumb_px=thumb_px, **kwargs)
        self._start_reviewing()  # marks in memory until a subclass names the account (`_use_account`)
        self.on_msg(self._on_browser_message)
        self.observe(self._on_open_id, "open_id")
        self.observe(lambda _change: self._sync.cards_synced(), "cards")
        self.observe(self._on_selected, "selected_ids")
        self._ready = True

    @traitlets.validate("thumb_px")
    def _valid_thumb_px(self, proposal: dict[str, Any]) -> int:
        return protocol.bounded_int(proposal["value"], MIN_THUMB_PX, MAX_THUMB_PX, "thumb_px")

    @traitlets.validate("selected_ids")
    def _valid_selection(self, proposal: dict[str, Any]) -> list[str]:
        """Bounded (a crafted selection of 10,000 cannot make a sheet of 10,000), and only what can still
        be acted on: a failed picture has nothing to download or review."""
        ids = protocol.bounded_ids(proposal["value"], limit=MAX_SELECTED)
        return card_words.selectable(ids, self.cards, self._known)

    @traitlets.validate("open_id")
    def _valid_open_id(self, proposal: dict[str, Any]) -> str:
        return protocol.bounded_text(proposal["value"], protocol.MAX_ID_CHARS, "open_id")

    def on_use_prompt(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """Call `callback(prompt)` when a person presses "Use this prompt" in the large view."""
        self._use_prompt_callbacks.register(callback, remove)
        self.can_use_prompt = bool(self._use_prompt_callbacks)

    @property
    def selected(self) -> list[Scenery]:
        """The selected sceneries this canvas knows, in selection order."""
        return [self._known[i] for i in self.selected_ids if i in self._known]

    def thumbnail_of(self, scenery_id: str) -> Thumbnail | None:
        """The thumbnail loaded for a card, if any (what the browser shows and contact sheets use)."""
        picture = self._sync.get(scenery_id)
        return None if picture is None else picture.thumb

    async def wait_pictures(self) -> None:
        """Until every thumbnail the current cards and the selection need is loaded (or has failed) and
        the browser has been told."""
        await wait_for_tasks(self._thumb_work)
        if self._sync.pending():
            self._flush_patch()

    def contact_sheet(self, selected_only: bool = True) -> Image.Image:
        """One image of the chosen thumbnails with their prompt (or name) underneath, for sharing.

        ``selected_only=False`` takes every card shown; a card with no picture loaded, its placeholder.
        """
        return exports.contact_sheet(self._sheet_tiles(selected_only), title=self._sheet_title())

    def save_contact_sheet(self, path: str | Path, selected_only: bool = True) -> Path:
        """Write the contact sheet as PNG, JPEG, WebP or PDF, chosen by the file extension."""
        return exports.save_sheet(lambda: self.contact_sheet(selected_only=selected_only), path)

    def _sheet_tiles(self, selected_only: bool) -> list[exports.SheetTile]:
        """What a sheet shows, gathered on the loop (cheap) so the drawing can go to a thread."""
        chosen = self.selected if selected_only else self._shown_sceneries()
        if not chosen:
            raise ValueError(exports.NOTHING_SELECTED if selected_only else exports.NOTHING_SHOWN)
        exports.check_sheet_size(len(chosen))
        book = getattr(self, "mark_book", None)  # the review's MarkBook, when this canvas has one
        return [
            exports.SheetTile(self._caption(s), self._tile(s), *exports.mark_of(book, s.id)) for s in chosen
        ]

    def _sheet_title(self) -> str:
        return self.title or "Contact sheet"

    def close(self) -> None:
        """Stop loading, drop the pictures and close the model (and the loader it made)."""
        if not self._ready:
            super().close()
            return
        if self._closed:
            return
        self._closed = True
        self._stop_reviewing()
        self._tasks.cancel_all()
        if self._owns_loader and loop_running():
            asyncio.get_running_loop().create_task(self.loader.aclose())
        super().close()
        self.layout.close()  # ipywidgets leaves the layout's model open, and nothing else holds it

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The live widget plus a static HTML copy of what it shows, for exported notebooks."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        # Displayed: a view is on its way, so changes and pictures go out as they happen rather than
        # waiting for its "hello" (which would turn a progressive fill into one burst at the end).
        self._sync.heard()
        data, metadata = bundle  # anywidget answers (data, metadata), not one dict like ipywidgets
        return {**data, "text/html": self.static_html()}, metadata

    def static_html(self) -> str:
        """The cards as plain HTML, thumbnails inlined from the bytes already loaded."""
        title = f"<h4>{escape(self.title)}</h4>" if self.title else ""
        note = f"<p>{escape(self.message)}</p>" if self.message else ""
        return f'<div class="qw-canvas-static">{title}{note}{self._static_body()}</div>'

    def _static_body(self) -> str:
        return self._static_figures(self.cards)

    def _static_figures(self, cards: Iterable[Mapping[str, Any]]) -> str:
        shown = [(c, self._known[c["id"]]) for c in cards if c["id"] in self._known]
        px = self.thumb_px
        return "".join(
            card_words.figure_html(self._caption(s), c.get("label") or "", self._tile(s), px)
            for c, s in shown
        )

    def _caption(self, scenery: Scenery) -> str:
        return self._prompt_of.get(scenery.id) or scenery.name or "(no name)"

    def _tile(self, scenery: Scenery) -> Thumbnail:
        picture = self._sync.current(scenery.id, scenery.thumbnail)
        if picture is not None:
            return picture.thumb
        return self.loader.placeholder(card_words.placeholder_kind(scenery), size=self.thumb_px)

    def _shown_sceneries(self) -> list[Scenery]:
        return [self._known[c["id"]] for c in self.cards if c["id"] in self._known]

    def _card(
        self, scenery: Scenery, *, status: str | None = None, since: datetime | None = None, run: str = ""
    ) -> dict[str, Any]:
        """The small dict the browser draws for one scenery (see canvas.js `drawCard`)."""
        picture = self._sync.current(scenery.id, scenery.thumbnail)
        version = 0 if picture is None else picture.version
        prompt = self._prompt_of.get(scenery.id, "")
        return card_words.card(scenery, prompt, version, status=status, since=since, run=run)

    def _facts(self, scenery: Scenery) -> dict[str, Any]:
        return card_words.card_facts(scenery, self._prompt_of.get(scenery.id, ""))

    def _show_cards(self, cards: list[dict[str, Any]]) -> None:
        """Replace the drawn cards (a new page, a new run) and load the thumbnails they need."""
        self._sync.cards_replaced({c["id"] for c in cards})
        self.cards = cards
        self._mirror_marks()
        self._load_missing()

    def _update_cards(self, changed: Iterable[dict[str, Any]]) -> None:
        """Change cards in place and tell the browser only the fields that changed, batched."""
        by_id = {c["id"]: c for c in self.cards}
        for card in changed:
            current = by_id.get(card["id"])
            if current is None:
                continue
            delta = {k: v for k, v in card.items() if current.get(k) != v}
            if not delta:
                continue
            current.update(delta)
            self._sync.changed(card["id"], delta)
        if self._sync.pending():
            self._schedule_patch()
        self._mirror_marks()
        self._load_missing()

    def _schedule_patch(self) -> None:
        if self._patch_scheduled:
            return
        if not loop_running():
            self._flush_patch()
            return
        self._patch_scheduled = True
        # A short window gathers the thumbnails that land together into one message.
        asyncio.get_running_loop().call_later(PATCH_WINDOW_SECONDS, self._flush_patch)

    def _flush_patch(self) -> None:
        """One message with the changed fields and the new pictures, for the views listening: a
        picture costs no round trip, and a card whose picture rides along needs no "thumb" field."""
        self._patch_scheduled = False
        patch = self._sync.take_patch()
        if self._closed or patch is None:
            self._sync.drop_pending()
            return
        cards, pictures, buffers = patch
        self.send({"kind": protocol.PATCH, "cards": cards, "pictures": pictures}, buffers=buffers or None)

    def _load_missing(self) -> None:
        """Start loading the thumbnail of every DONE card that has none yet."""
        if self._closed or not loop_running():
            return
        for card in self.cards:
            scenery = self._known.get(card["id"])
            if scenery is None or card["state"] != "done" or not scenery.thumbnail:
                continue
            picture = self._sync.current(scenery.id, scenery.thumbnail)
            if picture is not None:
                if card["thumb"] != picture.version:
                    self._update_cards([{**card, "thumb": picture.version}])
                continue
            self._start_loading(scenery.id, scenery.thumbnail)

    def _on_selected(self, _change: dict[str, Any]) -> None:
        """A contact sheet shows the selection's real pictures, also those of cards on other pages."""
        if self._closed or not loop_running():
            return
        for scenery in self.selected:
            loaded = self._sync.current(scenery.id, scenery.thumbnail) is not None
            if scenery.is_done and scenery.thumbnail and not loaded:
                self._start_loading(scenery.id, scenery.thumbnail)

    def _start_loading(self, scenery_id: str, url: str) -> None:
        if self._loading.get(scenery_id) == url:
            return
        self._loading[scenery_id] = url
        task = self._tasks.spawn(self._load_thumb(scenery_id, url), name="canvas-thumb")
        if task is not None:
            self._thumb_work.add(task)
            task.add_done_callback(self._thumb_work.discard)

    async def _load_thumb(self, scenery_id: str, url: str) -> None:
        try:
            thumb = await self.loader.load(url, size=self.thumb_px)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("canvas: thumbnail loading failed unexpectedly: %s", type(exc).__name__)
            return
        finally:
            if self._loading.get(scenery_id) == url:
                del self._loading[scenery_id]
        if self._closed or thumb.placeholder is not None:
            # A failed download stays a placeholder; the next change of the list tries again, and the
            # loader's failure memory keeps that from hammering a broken CDN.
            return
        card = next((c for c in self.cards if c["id"] == scenery_id), None)
        shown = card is not None and card["state"] == "done"
        version = self._sync.add(scenery_id, url, thumb, push=shown)
        if card is not None and shown:
            self._update_cards([{**card, "thumb": version}])
            me = asyncio.current_task()
            if self._patch_scheduled and all(t is me or t.done() for t in self._thumb_work):
                self._flush_patch()  # the last picture of a burst: nothing to wait for

    def _forget_pictures(self, keep: set[str]) -> None:
        """Drop pictures of sceneries no longer in the list, so memory follows what can be shown."""
        self._sync.keep_only(keep)
        self._previews.keep_only(keep)

    def _on_message(self, kind: str, content: dict[str, Any], buffers: Sequence[Any]) -> None:
        if kind == protocol.ALIVE:
            self._sync.heard()
        elif kind == protocol.WANT:
            self._sync.heard()
            self._send_wanted(content)
        elif kind == protocol.HELLO:
            self._sync.heard()
            changed = self._sync.catch_up()  # the view was drawn from the synced list; changed since
            if changed:
                self.send({"kind": protocol.PATCH, "cards": changed, "pictures": []})
            self._send_wanted(content)
            self._send_product()
        elif kind == protocol.PRODUCT:
            self._tasks.spawn(self._product_from_browser(buffers), name="canvas-product")
        elif kind == protocol.MARK:
            self._on_mark_message(content)
        elif kind == protocol.USE_PROMPT:
            self._use_prompt(content["id"])
        elif kind == protocol.DOWNLOAD:
            if "ids" in content:
                self.selected_ids = content["ids"]  # the selection shown when the button was pressed
            request = content.get("request", "")
            if not self._review_download(content["what"], request):
                self._start_download(content["what"], request)
        else:
            self._on_intent(kind, content)

    def _on_intent(self, kind: object, content: Mapping[str, Any]) -> None:
        """Subclasses handle their own intents (paging, folding runs)."""

    def _send_wanted(self, content: Mapping[str, Any]) -> None:
        ids = content.get("ids") or []  # checked: deduplicated, at most protocol.MAX_IDS
        pictures, buffers = self._sync.refs(ids)
        self._send_previews(content)
        if pictures:
            self.send({"kind": protocol.THUMBS, "pictures": pictures}, buffers=buffers)

    def _use_prompt(self, scenery_id: str) -> None:
        scenery = self._known.get(scenery_id)
        prompt = self._prompt_of.get(scenery_id) or (scenery.name if scenery else "")
        if not prompt:
            return
        self._use_prompt_callbacks(prompt)
        self.open_id = ""

    def _say(self, text: str, *, error: bool = False) -> None:
        if self._closed:
            return
        self.message_kind = "error" if error else "info"
        self.message = text
