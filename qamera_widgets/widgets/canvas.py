"""ResultsCanvas: the one front-end view for pictures (library pages, runs of a prompt, the large view).

One anywidget model draws every card, run header, the selection bar and the large view, so a studio
stays a handful of widget models however long the session. Python holds the state as traits (``cards``,
``runs``, ``selected_ids``, ``open_id``, ...) and does the I/O on the kernel's loop; the browser
(``static/canvas.js``) only draws and sends intents back (`protocol`). Which picture each view has and
what changed since it was drawn is `engine.pictures.versions`; what a card says, `engine.cards`; files that
leave the kernel (contact sheet, zip), `engine.pictures.sheets`.

The canvas owns its helpers, each with what it needs passed in: the large view's pictures
(`LargeViewPictures`), the review (`Review`: marks and the files made of them) and the selection's
downloads (`DownloadQueue`); one table (`_browser_messages`) says which of them answers each message.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from PIL import Image

from ..client.models import Scenery
from ..contract import FAILED_STATUSES
from ..engine import cards as card_words
from ..engine import review as engine_review
from ..engine.pictures import previews
from ..engine.pictures import sheets as exports
from ..engine.pictures.imaging import Thumbnail
from ..engine.pictures.loader import ThumbnailLoader
from ..engine.pictures.product import Cutout, read_cutout
from ..engine.pictures.versions import PictureSync
from ..engine.review import MarkBook, ReviewRow
from ..engine.review.marks import Item
from ..runtime.loops import wait_for_tasks
from . import protocol
from .basics import Callbacks, TaskSet, escape, logger, loop_running, with_static_html
from .downloads import DownloadQueue
from .large_view import LargeViewPictures
from .review import REVIEW_DOWNLOADS, Review

__all__ = [
    "ResultsCanvas",
]

STATIC = Path(__file__).parent / "static"
PATCH_WINDOW_SECONDS = 0.04
LOADER_CONCURRENCY = 24
MAX_LOADER_CONCURRENCY = 48
"""A view of up to this many pictures at once downloads them in one wave: each further wave waits on the
CDN's latency again (a 48-card page took two waves at 24)."""
MIN_THUMB_PX, MAX_THUMB_PX = 16, 1024
MAX_SELECTED = protocol.MAX_IDS
"""The largest selection: a contact sheet takes at most `exports.MAX_SHEET_TILES` of it, a zip is capped
by bytes."""


class ResultsCanvas(anywidget.AnyWidget):
    """Cards of sceneries with thumbnails, a selection with actions, a large view and a review.

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

    preview_px = traitlets.Int(
        previews.DEFAULT_PREVIEW_PX,
        help="Longest side the large view fetches pictures at: set by the browser from its size, capped.",
    ).tag(sync=True)
    preview = traitlets.Dict(help="What the large view shows about `open_id`.").tag(sync=True)
    product = traitlets.Dict(help="The product cutout held ({'w', 'h', 'v'}), or {} when there is none.").tag(
        sync=True
    )

    marks = traitlets.Dict(
        help="The marked pictures this view knows: {scenery_id: {'flag': 'pick'|'reject'|'', 'stars': 0-5}}. "
        "Read-only from the browser (it sends a `mark` message); set marks with `mark()`."
    ).tag(sync=True)
    keymap = traitlets.List(
        traitlets.Dict(),
        help="The review keys as data (engine.review.keymap_table): the browser maps keys with it.",
    ).tag(sync=True)
    key_help = traitlets.List(
        traitlets.List(traitlets.Unicode()), help="(keys, what they do) rows that `?` shows."
    ).tag(sync=True)
    mark_filter = traitlets.Enum(
        engine_review.MARK_FILTERS,
        default_value="all",
        help="Show all pictures, or only 'picks', 'rejects' or 'unmarked' ones (your marks).",
    ).tag(sync=True)
    min_stars = traitlets.Int(0, help="Show only pictures rated at least this many stars (0: any).").tag(
        sync=True
    )
    rating_first = traitlets.Bool(
        False, help="Order the pictures by your stars, best first (the view's own order among equals)."
    ).tag(sync=True)
    confirm_clear_above = traitlets.Int(
        engine_review.keys.CONFIRM_CLEAR_ABOVE,
        help="Esc clears a selection at once up to this size; above, it asks.",
    ).tag(sync=True)

    browser_writable = frozenset(
        {"selected_ids", "open_id", "mark_filter", "min_stars", "rating_first", "preview_px", "thumb_size"}
    )
    """What the view may change; everything else it only draws (see `protocol.BrowserWrites`)."""

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
        self._known: dict[str, Scenery] = {}
        self._prompt_of: dict[str, str] = {}
        self._use_prompt_callbacks = Callbacks("use-prompt")
        self._thumb_work: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._browser_writes = protocol.BrowserWrites(
            self.browser_writable, apply=super().set_state, send_back=self.send_state
        )
        self._large = LargeViewPictures(
            loader=self.loader,
            sceneries=lambda: self._known,
            facts=self._facts,
            px=lambda: self.preview_px,
            show_preview=lambda preview: setattr(self, "preview", preview),
            show_product=lambda product: setattr(self, "product", product),
            say=self._say,
            send=self.send,
        )
        # Marks in memory until a subclass names the account (`_use_account`).
        self._review = Review(
            sceneries=lambda: self._known,
            ids=self._review_ids,
            failed=self._failed_ids,
            changed=self._on_marks_changed,
            rows=self.review_rows,
            tile=self._sheet_tile,
            load=self._load_tiles,
            original=self.loader.original,
            say=self._say,
            send=self.send,
        )
        self._downloads = DownloadQueue(
            selected=lambda: self.selected,
            make=self._make_download,
            message=lambda: self.message,
            say=self._say,
            send=self.send,
        )
        super().__init__(thumb_px=thumb_px, **kwargs)
        self.keymap = engine_review.keymap_table()
        self.key_help = [list(row) for row in engine_review.help_rows()]
        self._mirror_marks()
        self._on_browser_message = protocol.MessageRouter(type(self).__name__, self._browser_messages())
        self.on_msg(self._on_browser_message)
        self.observe(lambda change: self._large.open(change["new"]), "open_id")
        self.observe(lambda _change: self._sync.cards_synced(), "cards")
        self.observe(self._on_selected, "selected_ids")
        self._ready = True

    def _browser_messages(self) -> dict[str, protocol.Handler]:
        """What this view does with each message its browser sends: the kinds it answers, and no other
        (subclasses add theirs)."""
        return {
            protocol.ALIVE: lambda _message: self._sync.heard(),
            protocol.HELLO: self._hello,
            protocol.WANT: self._want,
            protocol.PRODUCT: self._large.product_from_browser,
            protocol.MARK: self._review.mark_from_browser,
            protocol.USE_PROMPT: self._use_prompt,
            protocol.DOWNLOAD: self._download,
        }

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Take from the browser only the traits in `browser_writable`, each through its validators."""
        self._browser_writes.take(sync_data)

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

    @traitlets.validate("preview_px")
    def _valid_preview_px(self, proposal: Mapping[str, Any]) -> int:
        try:
            return previews.preview_px(proposal["value"])
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from None

    @traitlets.validate("min_stars")
    def _valid_min_stars(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= engine_review.MAX_STARS:
            raise traitlets.TraitError(
                f"min_stars is a whole number of stars from 0 to {engine_review.MAX_STARS}, not {value!r}."
            )
        return value

    @traitlets.observe("mark_filter")
    def _unmarked_has_no_stars(self, change: dict[str, Any]) -> None:
        if change["new"] == "unmarked":
            self.min_stars = 0  # unmarked pictures have no stars: a leftover minimum would hide them all

    @traitlets.observe("min_stars")
    def _stars_are_a_mark(self, change: dict[str, Any]) -> None:
        if change["new"] and self.mark_filter == "unmarked":
            self.mark_filter = "all"

    @traitlets.observe("mark_filter", "min_stars", "rating_first")
    def _on_mark_filter(self, _change: dict[str, Any]) -> None:
        if not self._closed:
            self._refilter()

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

    def set_product(self, source: str | Path | bytes | bytearray | memoryview | None) -> None:
        """Preview a product cutout (a PNG or WebP with transparency) over the backgrounds in the large
        view; None removes it. Raises `ProductError` with what to fix, and keeps the previous cutout."""
        self.show_cutout(None if source is None else read_cutout(source))

    def show_cutout(self, cutout: Cutout | None) -> None:
        """Show an already checked cutout (what `Studio.set_product` hands each of its views)."""
        self._large.show_cutout(cutout)

    def contact_sheet(self, selected_only: bool = True) -> Image.Image:
        """One image of the chosen thumbnails with their prompt (or name) underneath, for sharing.

        ``selected_only=False`` takes every card shown; a card with no picture loaded, its placeholder.
        """
        return exports.contact_sheet(self._sheet_tiles(selected_only), title=self._sheet_title())

    def save_contact_sheet(self, path: str | Path, selected_only: bool = True) -> Path:
        """Write the contact sheet as PNG, JPEG, WebP or PDF, chosen by the file extension."""
        return exports.save_sheet(lambda: self.contact_sheet(selected_only=selected_only), path)

    @property
    def review(self) -> Review:
        """This view's review (marks, picks and the files made of them): what `mark()`, `picks()` and the
        other review methods call, and what a studio combines across its views."""
        return self._review

    @property
    def mark_book(self) -> MarkBook:
        """The account's book this view reads and writes (`unsaved` says when marks stay in memory)."""
        return self._review.book

    def mark(self, ids: object, *, flag: object = None, stars: object = None) -> dict[str, dict[str, Any]]:
        """Set the flag ("pick", "reject", or "" to clear) and/or the stars (0-5) of pictures this view
        shows: `ids` is a scenery id, a Scenery, or a list of them.

        Everything is checked first: a bad flag, stars outside 0-5 or an id this view does not know raise
        a `MarkError` saying what to fix, and nothing is stored. Returns the marks that changed.
        """
        return self._review.mark(ids, flag=flag, stars=stars)

    def picks(self) -> list[Scenery]:
        """The picked pictures this view knows, in the order they were marked."""
        return self._review.picks()

    def rejects(self) -> list[Scenery]:
        """The rejected pictures this view knows, in the order they were marked."""
        return self._review.rejects()

    def by_marks(self, items: Sequence[Item], *, rating_first: bool | None = None) -> list[Item]:
        """`items` (sceneries or cards) through this view's marks filter and, when asked, rating order."""
        # Observers run in any order: an 'unmarked' filter with a leftover minimum is about to lose it.
        least = 0 if self.mark_filter == "unmarked" else self.min_stars
        by_rating = self.rating_first if rating_first is None else rating_first
        return self._review.by_marks(items, show=self.mark_filter, min_stars=least, rating_first=by_rating)

    def review_rows(self, ids: Iterable[str] | None = None) -> list[ReviewRow]:
        """One row per picture (all this view knows, or `ids`): id, name, prompt, run, template and its
        varying words, flag, stars, status, the service's vote, created time, thumbnail URL."""
        chosen = (
            self._review_sceneries() if ids is None else [self._known[i] for i in ids if i in self._known]
        )
        runs = self._review_runs()
        return engine_review.review_rows(
            chosen,
            self._review.book.marks(),
            origins=engine_review.origins_of(runs),
            prompts=self._prompt_of,
            statuses=self._live_statuses(),
        )

    def export_review(self, path: str | os.PathLike[str]) -> Path:
        """Write `review_rows()` to `path` (.csv or .json, by its suffix); returns the path."""
        return engine_review.export_review(path, self.review_rows())

    def picks_contact_sheet(self) -> Image.Image:
        """One image of your picks with their prompts underneath (placeholders where no picture is
        loaded yet: `await save_picks_contact_sheet(path)` waits for them)."""
        return self._review.picks_contact_sheet()

    async def save_picks_contact_sheet(self, path: str | Path) -> Path:
        """Load the picks' thumbnails, then write their contact sheet (.png, .jpg or .webp)."""
        return await self._review.save_picks_contact_sheet(path)

    async def picks_zip(self) -> bytes:
        """A zip of your picks' originals with `review.csv` beside them (a file name leads to its row)."""
        return await self._review.picks_zip()

    async def save_picks_zip(self, path: str | Path) -> Path:
        """Write `picks_zip()` to `path`; returns it."""
        return await self._review.save_picks_zip(path)

    def close(self) -> None:
        """Stop loading, drop the pictures and close the model (and the loader it made)."""
        if not self._ready:
            super().close()
            return
        if self._closed:
            return
        self._closed = True
        self._on_browser_message.close()
        for helper in (self._review, self._large, self._downloads):
            helper.close()
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
        shown: tuple[dict[str, Any], dict[str, Any]] = with_static_html(bundle, self.static_html())
        return shown

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

    def _use_account(self, base_url: str, key_id: str | None) -> None:
        """Mark in the process's book of this account (shared with every other view of it)."""
        self._review.use_account(base_url, key_id)
        self._mirror_marks()

    def _review_ids(self) -> set[str]:
        """The ids a mark may name: the pictures this view knows."""
        return {*self._known, *(c["id"] for c in self.cards)}

    def _failed_ids(self) -> set[str]:
        """The pictures that failed to generate (by the view's cards, the board's live statuses and the
        list's): never marked."""
        failed = {c["id"] for c in self.cards if c.get("state") == "failed"}
        live = self._live_statuses()
        for scenery_id, scenery in self._known.items():
            if (live.get(scenery_id) or scenery.status or "").upper() in FAILED_STATUSES:
                failed.add(scenery_id)
        return failed

    def _review_sceneries(self) -> list[Scenery]:
        """The pictures a review export lists, in the view's order: a board's by run, newest first."""
        runs = self._review_runs()
        if not runs:
            return list(self._known.values())
        ids = dict.fromkeys(i for run in runs for i in run.record_ids)
        return [self._known[i] for i in ids if i in self._known]

    def _review_runs(self) -> Sequence[engine_review.export.RunLike]:
        """The runs the pictures came from (a board's; a library has none)."""
        return []

    def _live_statuses(self) -> Mapping[str, str]:
        """Statuses newer than the list's (a board's live ones; a library has none)."""
        return {}

    def _refilter(self) -> None:
        """Draw again after the marks filter, or a mark it depends on, changed (a board redraws its runs,
        a library filters its whole list again)."""

    def _filters_by_marks(self) -> bool:
        return self.mark_filter != "all" or self.min_stars > 0 or self.rating_first

    def _mirror_marks(self) -> None:
        """Set `marks` to the book's marks of the pictures this view knows (synced only when it changed)."""
        if self._closed:
            return
        mine = self._review_ids()
        self.marks = self._review.book.trait(mine)
        if any(i not in mine for i in self.selected_ids):
            # "N selected" counts what can still be acted on: a picture that left the view leaves it too.
            self.selected_ids = [i for i in self.selected_ids if i in mine]

    def _on_marks_changed(self) -> None:
        """A mark of a picture of this view changed (here, in another view, or another kernel's)."""
        if self._closed:
            return
        self._mirror_marks()
        if self._filters_by_marks():
            self._refilter()

    def _sheet_tiles(self, selected_only: bool) -> list[exports.SheetTile]:
        """What a sheet shows, gathered on the loop (cheap) so the drawing can go to a thread."""
        chosen = self.selected if selected_only else self._shown_sceneries()
        if not chosen:
            raise ValueError(exports.NOTHING_SELECTED if selected_only else exports.NOTHING_SHOWN)
        exports.check_sheet_size(len(chosen))
        return [self._sheet_tile(s) for s in chosen]

    def _sheet_tile(self, scenery: Scenery) -> exports.SheetTile:
        return exports.SheetTile(
            self._caption(scenery), self._tile(scenery), *exports.mark_of(self._review.book, scenery.id)
        )

    def _sheet_title(self) -> str:
        return self.title or "Contact sheet"

    async def _load_tiles(self, chosen: Sequence[Scenery]) -> None:
        for scenery in chosen:
            if scenery.is_done and scenery.thumbnail and self.thumbnail_of(scenery.id) is None:
                self._start_loading(scenery.id, scenery.thumbnail)
        await self.wait_pictures()

    async def _make_download(self, what: str, chosen: Sequence[Scenery]) -> tuple[str, str, bytes]:
        return await exports.make_download(
            what,
            chosen,
            sheet=lambda: (self._sheet_tiles(selected_only=True), self._sheet_title()),
            wait_pictures=self.wait_pictures,
            caption=self._caption,
            original=self.loader.original,
            say=self._say,
            zipped=self._review.zipped,  # the originals with review.csv beside them
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
        self._large.keep_only(keep)

    def _hello(self, message: protocol.BrowserMessage) -> None:
        """A view was drawn from the synced list: what changed since, then what it lacks."""
        self._sync.heard()
        changed = self._sync.catch_up()
        if changed:
            self.send({"kind": protocol.PATCH, "cards": changed, "pictures": []})
        self._send_wanted(message)
        self._large.send_product()

    def _want(self, message: protocol.BrowserMessage) -> None:
        self._sync.heard()
        self._send_wanted(message)

    def _send_wanted(self, message: Mapping[str, Any]) -> None:
        ids = message.get("ids") or []  # checked: deduplicated, at most protocol.MAX_IDS
        pictures, buffers = self._sync.refs(ids)
        self._large.send_wanted(message)
        if pictures:
            self.send({"kind": protocol.THUMBS, "pictures": pictures}, buffers=buffers)

    def _use_prompt(self, message: protocol.BrowserMessage) -> None:
        scenery_id = message["id"]
        scenery = self._known.get(scenery_id)
        prompt = self._prompt_of.get(scenery_id) or (scenery.name if scenery else "")
        if not prompt:
            return
        self._use_prompt_callbacks(prompt)
        self.open_id = ""

    def _download(self, message: protocol.BrowserMessage) -> None:
        if "ids" in message:
            self.selected_ids = message["ids"]  # the selection shown when the button was pressed
        what, request = message["what"], message.get("request", "")[:64]  # sent back: only that view saves
        if what in REVIEW_DOWNLOADS:
            self._review.download(what, request)
        else:
            self._downloads.start(what, request)

    def _say(self, text: str, *, error: bool = False) -> None:
        if self._closed:
            return
        self.message_kind = "error" if error else "info"
        self.message = text
