"""The review side of a results canvas: marks (pick / reject, 0-5 stars) on its pictures, the filters
that follow from them, and the review's exports.

The marks themselves are `engine.review`'s: one `MarkBook` per account in the process, kept in the
local store, so every view of one account in a kernel shows a mark the moment any of them makes it, and
a new kernel finds it. A view only mirrors the book into its synced `marks` trait (the pictures it
knows that carry a mark) and turns the browser's `mark` messages into checked book writes. The browser
never writes `marks`: what it sends is an intent, checked exactly like a Python call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import traitlets

from ..client.models import Scenery
from ..engine import review
from ..engine.review import Mark, MarkBook, MarkError, ReviewRow
from . import protocol

__all__ = ["MarkError", "Reviewing"]

SORTS_BY_RATING = "rating"


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
    confirm_clear_above = traitlets.Int(
        review.keys.CONFIRM_CLEAR_ABOVE,
        help="Esc clears a selection at once up to this size; above, it asks.",
    ).tag(sync=True)

    # Provided by ResultsCanvas.
    _known: dict[str, Scenery]
    _prompt_of: dict[str, str]
    _closed: bool
    cards: list[dict[str, Any]]

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
        changed = self._book.mark(ids, flag=flag, stars=stars, known=self._review_ids())
        return {i: m.as_dict() for i, m in changed.items()}

    def picks(self) -> list[Scenery]:
        """The picked pictures this view knows, in the order they were marked."""
        return self._flagged(review.marks.PICK)

    def rejects(self) -> list[Scenery]:
        """The rejected pictures this view knows, in the order they were marked."""
        return self._flagged(review.marks.REJECT)

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

    def _on_my_marks_changed(self, changed: Mapping[str, Mark]) -> None:
        """After the marks of some of this view's pictures changed (a filter by marks redraws)."""

    # -- keeping the trait in step ---------------------------------------------------------------------

    def _flagged(self, flag: str) -> list[Scenery]:
        known = self._known
        return [known[i] for i in self._book.ids(flag) if i in known]

    def _mirror_marks(self) -> None:
        """Set `marks` to the book's marks of the pictures this view knows (synced only when it changed)."""
        if self._closed:
            return
        self.marks = self._book.trait(self._review_ids())

    def _on_book_changed(self, changed: Mapping[str, Mark]) -> None:
        if self._closed:
            return
        mine = self._review_ids()
        if not mine.intersection(changed):
            return
        self._mirror_marks()
        self._on_my_marks_changed({i: m for i, m in changed.items() if i in mine})

    def _on_mark_message(self, content: Mapping[str, Any]) -> None:
        """The browser's `mark` intent, checked like `mark()`: a refused one is said under the toolbar,
        and the trait is sent again so the card drops the mark it drew ahead of the answer."""
        try:
            request = review.request_from_message(content, self._review_ids())
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

    def _say(self, text: str, *, error: bool = False) -> None:
        raise NotImplementedError


def picks_of(views: Sequence[Reviewing]) -> list[Scenery]:
    """Picks across views (runs and library), each picture once, in the order of the first view."""
    seen: dict[str, Scenery] = {}
    for view in views:
        for scenery in view.picks():
            seen.setdefault(scenery.id, scenery)
    return list(seen.values())


class ReviewingStudio:
    """The review API of a view made of other views (the Studio: runs and library): one account, one
    book, so a mark made here shows on both, and picks span both."""

    def _review_views(self) -> Sequence[Reviewing]:
        raise NotImplementedError

    @property
    def marks(self) -> dict[str, dict[str, str | int]]:
        """Every marked picture the views know: {scenery_id: {'flag': ..., 'stars': ...}}."""
        merged: dict[str, dict[str, str | int]] = {}
        for view in self._review_views():
            merged.update(view.marks)
        return merged

    def mark(self, ids: object, *, flag: object = None, stars: object = None) -> dict[str, dict[str, Any]]:
        """`ResultsCanvas.mark` over the runs and the library: an id either of them knows may be named."""
        views = self._review_views()
        known = set().union(*(view._review_ids() for view in views))
        changed = views[0].mark_book.mark(ids, flag=flag, stars=stars, known=known)
        return {i: m.as_dict() for i, m in changed.items()}

    def picks(self) -> list[Scenery]:
        """The picked pictures of the runs and the library, each once."""
        return picks_of(self._review_views())

    def rejects(self) -> list[Scenery]:
        """The rejected pictures of the runs and the library, each once."""
        seen: dict[str, Scenery] = {}
        for view in self._review_views():
            for scenery in view.rejects():
                seen.setdefault(scenery.id, scenery)
        return list(seen.values())

    def review_rows(self) -> list[ReviewRow]:
        """One row per picture of the runs (with their run and template), then the library's others."""
        rows: dict[str, ReviewRow] = {}
        for view in self._review_views():
            for row in view.review_rows():
                rows.setdefault(row["id"], row)
        return list(rows.values())

    def export_review(self, path: str | os.PathLike[str]) -> Path:
        """Write `review_rows()` to `path` (.csv or .json, by its suffix); returns the path."""
        return review.export_review(path, self.review_rows())
