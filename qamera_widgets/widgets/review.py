"""The review side of a results canvas: marks (pick / reject, 0-5 stars) on its pictures, the filters
that follow from them, and the review's exports.

The marks themselves are `engine.review`'s: one `MarkBook` per account in the process, kept in the
local store, so every view of one account in a kernel shows a mark the moment any of them makes it, and
a new kernel finds it. A view only mirrors the book into its synced `marks` trait (the pictures it
knows that carry a mark) and turns the browser's `mark` messages into checked book writes. The browser
never writes `marks`: what it sends is an intent, checked exactly like a Python call.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import traitlets
from PIL import Image

from ..client.models import Scenery
from ..engine import review
from ..engine.jobs.status import state_of
from ..engine.pictures import sheets as exports
from ..engine.pictures.imaging import Thumbnail
from ..engine.pictures.loader import ThumbnailLoader
from ..engine.review import Mark, MarkBook, MarkError, ReviewRow
from ..engine.review.book import PICK, REJECT, refuse_failed
from ..engine.review.marks import Item
from ..engine.wording import pictures
from . import protocol
from ._common import TaskSet

__all__ = ["NO_PICKS", "Reviewing"]

REVIEW_DOWNLOADS = ("review", "picks_sheet", "picks_zip")
NO_PICKS = "Nothing is picked yet: focus a card and press P (or call mark(ids, flag='pick'))."


class Reviewing(traitlets.HasTraits):
    """Marks for a canvas: mixed into `ResultsCanvas` (which provides `_known`, `cards`, `send`, `_say`).

    Subclasses say which account their pictures belong to with `_use_account(base_url, key_id)`; a
    canvas with no account keeps its marks in a book of its own, in memory only.
    """

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
        review.MARK_FILTERS,
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
        review.keys.CONFIRM_CLEAR_ABOVE,
        help="Esc clears a selection at once up to this size; above, it asks.",
    ).tag(sync=True)

    # Provided by ResultsCanvas.
    _known: dict[str, Scenery]
    _prompt_of: dict[str, str]
    _closed: bool
    _tasks: TaskSet
    cards: list[dict[str, Any]]
    thumb_px: int
    loader: ThumbnailLoader

    @traitlets.validate("min_stars")
    def _valid_min_stars(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= review.MAX_STARS:
            raise traitlets.TraitError(
                f"min_stars is a whole number of stars from 0 to {review.MAX_STARS}, not {value!r}."
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

    def by_marks(self, items: Sequence[Item], *, rating_first: bool | None = None) -> list[Item]:
        """`items` (sceneries or cards) through this view's marks filter and, when asked, rating order."""
        marks = self._book.marks()
        # Observers run in any order: an 'unmarked' filter with a leftover minimum is about to lose it.
        least = 0 if self.mark_filter == "unmarked" else self.min_stars
        kept = review.filter_by_marks(items, marks, show=self.mark_filter, min_stars=least)
        by_rating = self.rating_first if rating_first is None else rating_first
        return review.sort_by_rating(kept, marks) if by_rating else kept

    @traitlets.observe("mark_filter", "min_stars", "rating_first")
    def _on_mark_filter(self, _change: dict[str, Any]) -> None:
        if getattr(self, "_book", None) is not None and not self._closed:
            self._refilter()

    def _filters_by_marks(self) -> bool:
        return self.mark_filter != "all" or self.min_stars > 0 or self.rating_first

    def _refilter(self) -> None:
        """Draw again after the marks filter, or a mark it depends on, changed: a board redraws its runs
        (its `_redraw`); the library overrides this to filter its whole list again."""
        redraw = getattr(self, "_redraw", None)
        if callable(redraw):
            redraw()

    def _start_reviewing(self) -> None:
        self._book: MarkBook = MarkBook("", None)
        self._unsubscribe_marks: Callable[[], None] = lambda: None
        self.keymap = review.keymap_table()
        self.key_help = [list(row) for row in review.help_rows()]
        self._watch_book(self._book)

    def _use_account(self, base_url: str, key_id: str | None) -> None:
        """Mark in the process's book of this account (shared with every other view of it)."""
        self._watch_book(review.mark_book(base_url, key_id))

    def _watch_book(self, book: MarkBook) -> None:
        self._unsubscribe_marks()
        self._book = book
        self._unsubscribe_marks = book.subscribe(self._on_book_changed)
        self._mirror_marks()

    def _stop_reviewing(self) -> None:
        self._unsubscribe_marks()

    @property
    def mark_book(self) -> MarkBook:
        """The account's book this view reads and writes (`unsaved` says when marks stay in memory)."""
        return self._book

    # -- the Python API -------------------------------------------------------------------------------

    def mark(self, ids: object, *, flag: object = None, stars: object = None) -> dict[str, dict[str, Any]]:
        """Set the flag ("pick", "reject", or "" to clear) and/or the stars (0-5) of pictures this view
        shows: `ids` is a scenery id, a Scenery, or a list of them.

        Everything is checked first: a bad flag, stars outside 0-5 or an id this view does not know raise
        a `MarkError` saying what to fix, and nothing is stored. Returns the marks that changed.
        """
        refuse_failed(ids, self._failed_ids(), flag=flag, stars=stars)
        changed = self._book.mark(ids, flag=flag, stars=stars, known=self._review_ids())
        return {i: m.as_dict() for i, m in changed.items()}

    def picks(self) -> list[Scenery]:
        """The picked pictures this view knows, in the order they were marked."""
        return self._flagged(PICK)

    def rejects(self) -> list[Scenery]:
        """The rejected pictures this view knows, in the order they were marked."""
        return self._flagged(REJECT)

    def review_rows(self, ids: Iterable[str] | None = None) -> list[ReviewRow]:
        """One row per picture (all this view knows, or `ids`): id, name, prompt, run, template and its
        varying words, flag, stars, status, the service's vote, created time, thumbnail URL."""
        chosen = (
            self._review_sceneries() if ids is None else [self._known[i] for i in ids if i in self._known]
        )
        return review.review_rows(
            chosen,
            self._book.marks(),
            origins=self._origins(),
            prompts=self._prompt_of,
            statuses=self._live_statuses(),
        )

    def export_review(self, path: str | os.PathLike[str]) -> Path:
        """Write `review_rows()` to `path` (.csv or .json, by its suffix); returns the path."""
        return review.export_review(path, self.review_rows())

    # -- what subclasses refine -----------------------------------------------------------------------

    def _review_ids(self) -> set[str]:
        """The ids a mark may name: the pictures this view knows."""
        return {*self._known, *(c["id"] for c in self.cards)}

    def _failed_ids(self) -> set[str]:
        """The pictures that failed to generate (by the view's cards, the board's live statuses and the
        list's): never marked."""
        failed = {c["id"] for c in self.cards if c.get("state") == "failed"}
        live = self._live_statuses()
        for scenery_id, scenery in self._known.items():
            if state_of(live.get(scenery_id) or scenery.status) == "failed":
                failed.add(scenery_id)
        return failed

    def _review_sceneries(self) -> list[Scenery]:
        """The pictures a review export lists, in the view's order: a board's by run, newest first."""
        runs = self._review_runs()
        if not runs:
            return list(self._known.values())
        ids = dict.fromkeys(i for run in runs for i in run.record_ids)
        return [self._known[i] for i in ids if i in self._known]

    def _review_runs(self) -> Sequence[review.export.RunLike]:
        """The runs the pictures came from: a board's public `sections` (a library has none)."""
        runs = getattr(self, "sections", None)
        return runs if isinstance(runs, list) else []

    def _origins(self) -> Mapping[str, review.Origin]:
        return review.origins_of(self._review_runs())

    def _live_statuses(self) -> Mapping[str, str]:
        """A board's live statuses (newer than the list's), from its public `statuses`."""
        statuses = getattr(self, "statuses", None)
        return statuses if isinstance(statuses, dict) else {}

    # -- keeping the trait in step ---------------------------------------------------------------------

    def _flagged(self, flag: str) -> list[Scenery]:
        known = self._known
        return [known[i] for i in self._book.ids(flag) if i in known]

    def _mirror_marks(self) -> None:
        """Set `marks` to the book's marks of the pictures this view knows (synced only when it changed)."""
        if self._closed:
            return
        mine = self._review_ids()
        self.marks = self._book.trait(mine)
        selected: list[str] = getattr(self, "selected_ids", [])
        if any(i not in mine for i in selected):
            # "N selected" counts what can still be acted on: a picture that left the view leaves it too.
            self.selected_ids = [i for i in selected if i in mine]

    def _on_book_changed(self, changed: Mapping[str, Mark]) -> None:
        if self._closed:
            return
        mine = self._review_ids()
        if not mine.intersection(changed):
            return
        self._mirror_marks()
        if self._filters_by_marks():
            self._refilter()

    def _on_mark_message(self, content: Mapping[str, Any]) -> None:
        """The browser's `mark` intent, checked like `mark()`: a refused one is said under the toolbar,
        and the trait is sent again so the card drops the mark it drew ahead of the answer."""
        try:
            request = review.request_from_message(content, self._review_ids())
            refuse_failed(request.ids, self._failed_ids(), flag=request.flag, stars=request.stars)
        except MarkError as exc:
            self._say(str(exc), error=True)
        else:
            self._book.apply(request)
        send: Callable[[dict[str, Any]], None] = getattr(self, "send")  # noqa: B009 (anywidget's)
        send({"kind": protocol.MARKED})

    def _resend_marks(self) -> None:
        send_state: Callable[[str], None] = getattr(self, "send_state")  # noqa: B009 (from ipywidgets)
        if getattr(self, "comm", None) is not None:
            send_state("marks")

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Drop a `marks` value the browser tried to set (devtools): marks change through `mark` only,
        and the view is sent the real ones back."""
        refused = "marks" in sync_data
        kept = {k: v for k, v in sync_data.items() if k != "marks"}
        getattr(super(), "set_state")(kept)  # noqa: B009 (ipywidgets' Widget, next in the MRO)
        if refused:
            self._resend_marks()

    # -- picks and the review as files ----------------------------------------------------------------

    def picks_contact_sheet(self) -> Image.Image:
        """One image of your picks with their prompts underneath (placeholders where no picture is
        loaded yet: `await save_picks_contact_sheet(path)` waits for them)."""
        return self._sheet(self.picks())

    async def save_picks_contact_sheet(self, path: str | Path) -> Path:
        """Load the picks' thumbnails, then write their contact sheet (.png, .jpg or .webp)."""
        await self._load_tiles(self.picks())
        return exports.save_sheet(self.picks_contact_sheet, path)

    async def picks_zip(self) -> bytes:
        """A zip of your picks' originals with `review.csv` beside them (a file name leads to its row)."""
        data, _skipped = await self._review_zip(self.picks())
        return data

    async def save_picks_zip(self, path: str | Path) -> Path:
        """Write `picks_zip()` to `path`; returns it."""
        target = Path(path)
        data = await self.picks_zip()
        await asyncio.to_thread(target.write_bytes, data)
        return target

    def _sheet(self, chosen: Sequence[Scenery]) -> Image.Image:
        if not chosen:
            raise ValueError(NO_PICKS)
        exports.check_sheet_size(len(chosen))
        tiles = [
            exports.SheetTile(self._caption(s), self._tile(s), *exports.mark_of(self._book, s.id))
            for s in chosen
        ]
        return exports.contact_sheet(tiles, title="Picks")

    async def _load_tiles(self, chosen: Sequence[Scenery]) -> None:
        for scenery in chosen:
            if scenery.is_done and scenery.thumbnail and self.thumbnail_of(scenery.id) is None:
                self._start_loading(scenery.id, scenery.thumbnail)
        await self.wait_pictures()

    async def _review_zip(self, chosen: Sequence[Scenery]) -> tuple[bytes, int]:
        """The originals of `chosen` and their review rows as one zip; how many had no original."""
        if not chosen:
            raise ValueError(NO_PICKS)
        rows = self.review_rows([s.id for s in chosen])
        pictures, skipped = await review.collect_originals(rows, self.loader.original)
        return await asyncio.to_thread(review.review_zip, rows, pictures), len(skipped)

    def _review_download(self, what: str, request: object = "") -> bool:
        """The review's downloads (the review's CSV, picks as a sheet or a zip); False for others."""
        if what not in REVIEW_DOWNLOADS:
            return False
        if what != "review" and not self.picks():
            self._say(NO_PICKS, error=True)
        else:
            echo = request[:64] if isinstance(request, str) else ""  # sent back: only the asking view saves
            self._tasks.spawn(self._send_review_file(what, echo), name=f"canvas-download-{what}")
        return True

    async def _send_review_file(self, what: str, request: str = "") -> None:
        try:
            if what == "review":
                data, name, mime = (
                    review.review_csv(self.review_rows()).encode("utf-8"),
                    "review.csv",
                    "text/csv",
                )
            elif what == "picks_sheet":
                self._say("Making the contact sheet of your picks…")
                await self._load_tiles(self.picks())
                data = await asyncio.to_thread(exports.png_bytes, self.picks_contact_sheet())
                name, mime = "picks-contact-sheet.png", "image/png"
            else:
                self._say("Fetching the originals of your picks…")
                data, skipped = await self._review_zip(self.picks())
                name, mime = "picks.zip", "application/zip"
        except Exception as exc:
            self._say(f"The download could not be made: {exc}", error=True)
            return
        if self._closed:
            return
        self._say(
            ""
            if what != "picks_zip" or not skipped
            else f"{pictures(skipped)} had no original and were left out."
        )
        send: Callable[..., None] = getattr(self, "send")  # noqa: B009 (anywidget's)
        send({"kind": protocol.FILE, "name": name, "mime": mime, "request": request}, buffers=[data])

    # Provided by ResultsCanvas (stubs so the mixin type-checks on its own).
    def _say(self, text: str, *, error: bool = False) -> None:
        raise NotImplementedError

    def _caption(self, scenery: Scenery) -> str:
        raise NotImplementedError

    def _tile(self, scenery: Scenery) -> Thumbnail:
        raise NotImplementedError

    def thumbnail_of(self, scenery_id: str) -> Thumbnail | None:
        raise NotImplementedError

    def _start_loading(self, scenery_id: str, url: str) -> None:
        raise NotImplementedError

    async def wait_pictures(self) -> None:
        raise NotImplementedError
