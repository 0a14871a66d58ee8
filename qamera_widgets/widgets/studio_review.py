"""The review of a view made of other views (the Studio: runs and library).

Both views belong to one account, so they share one `MarkBook`: a mark made through the Studio shows on
both at once, and picks span both, each picture once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from ..client.models import Scenery
from ..engine import review
from ..engine.pictures import sheets as exports
from ..engine.review import ReviewRow
from ..engine.review.book import refuse_failed
from .canvas import ResultsCanvas
from .review import NO_PICKS, contact_sheet_of_picks, save_bytes, zip_with_review

__all__ = ["StudioReview"]


def _once_each(sceneries: Iterable[Scenery]) -> list[Scenery]:
    seen: dict[str, Scenery] = {}
    for scenery in sceneries:
        seen.setdefault(scenery.id, scenery)
    return list(seen.values())


class StudioReview:
    """Marks, picks and the review across `views` (runs, then library), each picture once, in the order
    of the first view that has it; a picture's tile and caption come from the first view that knows it."""

    def __init__(self, views: Sequence[ResultsCanvas]) -> None:
        self._views = tuple(views)

    @property
    def marks(self) -> dict[str, dict[str, str | int]]:
        merged: dict[str, dict[str, str | int]] = {}
        for view in self._views:
            merged.update(view.marks)
        return merged

    def mark(self, ids: object, *, flag: object = None, stars: object = None) -> dict[str, dict[str, Any]]:
        reviews = [view.review for view in self._views]
        known = set().union(*(r.ids() for r in reviews))
        failed = set().union(*(r.failed() for r in reviews))
        refuse_failed(ids, failed, flag=flag, stars=stars)
        changed = reviews[0].book.mark(ids, flag=flag, stars=stars, known=known)
        return {i: m.as_dict() for i, m in changed.items()}

    def picks(self) -> list[Scenery]:
        return _once_each(s for view in self._views for s in view.picks())

    def rejects(self) -> list[Scenery]:
        return _once_each(s for view in self._views for s in view.rejects())

    def review_rows(self) -> list[ReviewRow]:
        rows: dict[str, ReviewRow] = {}
        for view in self._views:
            for row in view.review_rows():
                rows.setdefault(row["id"], row)
        return list(rows.values())

    def export_review(self, path: str | os.PathLike[str]) -> Path:
        return review.export_review(path, self.review_rows())

    def picks_contact_sheet(self) -> Image.Image:
        return contact_sheet_of_picks(self.picks(), lambda s: self._view_of(s.id).review.tile(s))

    async def save_picks_contact_sheet(self, path: str | Path) -> Path:
        for view in self._views:
            await view.review.load([s for s in self.picks() if self._view_of(s.id) is view])
        return exports.save_sheet(self.picks_contact_sheet, path)

    async def picks_zip(self) -> bytes:
        picked = {s.id for s in self.picks()}
        if not picked:
            raise ValueError(NO_PICKS)
        rows = [row for row in self.review_rows() if row["id"] in picked]
        data, _skipped = await zip_with_review(rows, self._views[-1].loader.original)
        return data

    async def save_picks_zip(self, path: str | Path) -> Path:
        return await save_bytes(self.picks_zip(), path)

    def _view_of(self, scenery_id: str) -> ResultsCanvas:
        return next((v for v in self._views if v.review.knows(scenery_id)), self._views[-1])
