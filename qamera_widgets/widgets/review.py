"""The review of one results canvas: marks (pick / reject, 0-5 stars) on its pictures, and what is made of
them (picks as a contact sheet or a zip, the review as a CSV).

The marks themselves are `engine.review`'s: one `MarkBook` per account in the process, kept in the local
store, so every view of one account in a kernel shows a mark the moment any of them makes it, and a new
kernel finds it. A view only mirrors the book into its synced `marks` trait (the pictures it knows that
carry a mark) and turns the browser's `mark` messages into checked book writes. The browser never writes
`marks`: what it sends is an intent, checked exactly like a Python call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from ..client.models import Scenery
from ..engine import review
from ..engine.pictures import sheets as exports
from ..engine.review import Mark, MarkBook, MarkError, ReviewRow
from ..engine.review.book import PICK, REJECT, refuse_failed, request_from_message
from ..engine.review.marks import Item
from ..engine.wording import pictures
from . import protocol
from .basics import TaskSet

__all__ = [
    "NO_PICKS",
    "REVIEW_DOWNLOADS",
    "Review",
    "contact_sheet_of_picks",
    "save_bytes",
    "zip_with_review",
]

REVIEW_DOWNLOADS = ("review", "picks_sheet", "picks_zip")
NO_PICKS = "Nothing is picked yet: focus a card and press P (or call mark(ids, flag='pick'))."

Original = Callable[[str], Awaitable[tuple[bytes, str] | None]]


class Review:
    """The marks of one view's pictures, in its account's book (a book of its own, in memory only, until
    the view names its account with `use_account`), and the files made of them.

    What it needs from its view, all passed in: `sceneries()` (the pictures the view knows), `ids()` (what
    a mark may name: those and the cards drawn), `failed()` (pictures that failed to generate: never
    marked), `changed()` (called when a mark of one of `ids()` changed, from any view), `rows(ids)` (the
    view's review rows), `tile(scenery)` (a contact sheet's tile) and `load(sceneries)` (their thumbnails
    loaded), `original` (the loader's), `say(text, error=...)` (the view's message line) and `send`.
    """

    def __init__(
        self,
        *,
        sceneries: Callable[[], Mapping[str, Scenery]],
        ids: Callable[[], set[str]],
        failed: Callable[[], set[str]],
        changed: Callable[[], None],
        rows: Callable[[Iterable[str] | None], list[ReviewRow]],
        tile: Callable[[Scenery], exports.SheetTile],
        load: Callable[[Sequence[Scenery]], Awaitable[None]],
        original: Original,
        say: Callable[..., None],
        send: Callable[..., None],
    ) -> None:
        self._sceneries = sceneries
        self.ids = ids
        self.failed = failed
        self._changed = changed
        self._rows = rows
        self.tile = tile
        self.load = load
        self._original = original
        self._say = say
        self._send = send
        self._tasks = TaskSet()
        self._closed = False
        self._book = MarkBook("", None)
        self._unsubscribe = self._book.subscribe(self._on_book_changed)

    @property
    def book(self) -> MarkBook:
        return self._book

    def use_account(self, base_url: str, key_id: str | None) -> None:
        """Mark in the process's book of this account (shared with every other view of it)."""
        self._unsubscribe()
        self._book = review.mark_book(base_url, key_id)
        self._unsubscribe = self._book.subscribe(self._on_book_changed)

    def close(self) -> None:
        self._closed = True
        self._unsubscribe()
        self._tasks.cancel_all()

    def knows(self, scenery_id: str) -> bool:
        return scenery_id in self._sceneries()

    def mark(self, ids: object, *, flag: object = None, stars: object = None) -> dict[str, dict[str, Any]]:
        """See `ResultsCanvas.mark`."""
        refuse_failed(ids, self.failed(), flag=flag, stars=stars)
        changed = self._book.mark(ids, flag=flag, stars=stars, known=self.ids())
        return {i: m.as_dict() for i, m in changed.items()}

    def mark_from_browser(self, message: protocol.BrowserMessage) -> None:
        """The browser's `mark` intent, checked like `mark()`: a refused one is said under the toolbar.
        `marked` answers either way, after `marks` is synced, so the card drops the mark it drew ahead."""
        try:
            request = request_from_message(message, self.ids())
            refuse_failed(request.ids, self.failed(), flag=request.flag, stars=request.stars)
        except MarkError as exc:
            self._say(str(exc), error=True)
        else:
            self._book.apply(request)
        self._send({"kind": protocol.MARKED})

    def picks(self) -> list[Scenery]:
        return self._flagged(PICK)

    def rejects(self) -> list[Scenery]:
        return self._flagged(REJECT)

    def by_marks(self, items: Sequence[Item], *, show: str, min_stars: int, rating_first: bool) -> list[Item]:
        """`items` (sceneries or cards) through a marks filter and, when asked, in rating order."""
        marks = self._book.marks()
        kept = review.filter_by_marks(items, marks, show=show, min_stars=min_stars)
        return review.sort_by_rating(kept, marks) if rating_first else kept

    def picks_contact_sheet(self) -> Image.Image:
        return contact_sheet_of_picks(self.picks(), self.tile)

    async def save_picks_contact_sheet(self, path: str | Path) -> Path:
        await self.load(self.picks())
        return exports.save_sheet(self.picks_contact_sheet, path)

    async def picks_zip(self) -> bytes:
        data, _skipped = await self.zipped(self.picks())
        return data

    async def save_picks_zip(self, path: str | Path) -> Path:
        return await save_bytes(self.picks_zip(), path)

    async def zipped(self, chosen: Sequence[Scenery]) -> tuple[bytes, int]:
        """The originals of `chosen` with their review rows as `review.csv` beside them, as one zip (the
        selection's zip too); how many had no original."""
        return await zip_with_review(self._rows([s.id for s in chosen]), self._original)

    def download(self, what: str, request: str) -> None:
        """The review's downloads for the browser: its CSV, the picks as a sheet or a zip."""
        if what != "review" and not self.picks():
            self._say(NO_PICKS, error=True)
        else:
            self._tasks.spawn(self._send_file(what, request), name=f"canvas-download-{what}")

    async def _send_file(self, what: str, request: str) -> None:
        skipped = 0
        try:
            if what == "review":
                data = review.review_csv(self._rows(None)).encode("utf-8")
                name, mime = "review.csv", "text/csv"
            elif what == "picks_sheet":
                self._say("Making the contact sheet of your picks…")
                await self.load(self.picks())
                data = await asyncio.to_thread(exports.png_bytes, self.picks_contact_sheet())
                name, mime = "picks-contact-sheet.png", "image/png"
            else:
                self._say("Fetching the originals of your picks…")
                data, skipped = await self.zipped(self.picks())
                name, mime = "picks.zip", "application/zip"
        except Exception as exc:
            self._say(f"The download could not be made: {exc}", error=True)
            return
        if self._closed:
            return
        self._say(f"{pictures(skipped)} had no original and were left out." if skipped else "")
        self._send(protocol.file_message(name, mime, request), buffers=[data])

    def _flagged(self, flag: str) -> list[Scenery]:
        known = self._sceneries()
        return [known[i] for i in self._book.ids(flag) if i in known]

    def _on_book_changed(self, changed: Mapping[str, Mark]) -> None:
        if self.ids().intersection(changed):
            self._changed()


def contact_sheet_of_picks(
    chosen: Sequence[Scenery], tile: Callable[[Scenery], exports.SheetTile]
) -> Image.Image:
    """One image of picks with their prompts underneath (a view's, or a studio's across its views)."""
    if not chosen:
        raise ValueError(NO_PICKS)
    exports.check_sheet_size(len(chosen))
    return exports.contact_sheet([tile(s) for s in chosen], title="Picks")


async def zip_with_review(rows: list[ReviewRow], original: Original) -> tuple[bytes, int]:
    """The originals of the pictures of `rows` with `review.csv` beside them; how many had no original."""
    if not rows:
        raise ValueError(NO_PICKS)
    found, skipped = await review.collect_originals(rows, original)
    return await asyncio.to_thread(review.review_zip, rows, found), len(skipped)


async def save_bytes(made: Awaitable[bytes], path: str | Path) -> Path:
    """Write the bytes `made` gives to `path`, in a thread; returns the path."""
    target = Path(path)
    data = await made
    await asyncio.to_thread(target.write_bytes, data)
    return target
