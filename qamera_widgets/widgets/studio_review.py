"""The review API of a view made of other views (the Studio: runs and library).

Both views belong to one account, so they share one `MarkBook`: a mark made through the Studio shows on
both at once, and picks span both, each picture once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from ..client.models import Scenery
from ..engine import review
from ..engine.pictures import sheets as exports
from ..engine.review import ReviewRow
from ..engine.review.book import refuse_failed
from .review import NO_PICKS, Reviewing

__all__ = ["ReviewingStudio", "picks_of"]


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
        failed = set().union(*(view._failed_ids() for view in views))
        refuse_failed(ids, failed, flag=flag, stars=stars)
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

    def _view_of(self, scenery_id: str) -> Reviewing:
        views = self._review_views()
        return next((v for v in views if scenery_id in v._known), views[-1])

    def picks_contact_sheet(self) -> Image.Image:
        """One image of your picks across the runs and the library, with their prompts underneath."""
        chosen = self.picks()
        if not chosen:
            raise ValueError(NO_PICKS)
        exports.check_sheet_size(len(chosen))
        tiles = []
        for scenery in chosen:
            view = self._view_of(scenery.id)
            flag, stars = exports.mark_of(view.mark_book, scenery.id)
            tiles.append(exports.SheetTile(view._caption(scenery), view._tile(scenery), flag, stars))
        return exports.contact_sheet(tiles, title="Picks")

    async def save_picks_contact_sheet(self, path: str | Path) -> Path:
        """Load the picks' thumbnails, then write their contact sheet (.png, .jpg or .webp)."""
        for view in self._review_views():
            await view._load_tiles([s for s in self.picks() if self._view_of(s.id) is view])
        return exports.save_sheet(self.picks_contact_sheet, path)

    async def picks_zip(self) -> bytes:
        """A zip of your picks' originals with `review.csv` beside them (a file name leads to its row)."""
        picked = {s.id for s in self.picks()}
        if not picked:
            raise ValueError(NO_PICKS)
        rows = [row for row in self.review_rows() if row["id"] in picked]
        found, _skipped = await review.collect_originals(rows, self._review_views()[-1].loader.original)
        return await asyncio.to_thread(review.review_zip, rows, found)

    async def save_picks_zip(self, path: str | Path) -> Path:
        """Write `picks_zip()` to `path`; returns it."""
        target = Path(path)
        data = await self.picks_zip()
        await asyncio.to_thread(target.write_bytes, data)
        return target
