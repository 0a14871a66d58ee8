"""The large view's pictures: at the size the browser shows them, within a cap, and a few ahead.

The browser says how many device pixels its large view has (`preview_px`, a browser-writable trait,
so it is validated here) and which large pictures it wants besides the open one (the neighbours it
prefetches, the pictures it compares). Previews are held per canvas by scenery id, keyed by the URL and
size they were made for, so a new size or a new picture is fetched again and nothing stale is shown.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Container
from typing import Any

from .imaging import MAX_PREVIEW_PX, Thumbnail

__all__ = [
    "DEFAULT_PREVIEW_PX",
    "MAX_HELD",
    "MAX_WANTED",
    "MIN_PREVIEW_PX",
    "PREVIEW_CACHE_BYTES",
    "PreviewCache",
    "preview_px",
    "wanted_previews",
]

MIN_PREVIEW_PX = 256
DEFAULT_PREVIEW_PX = 1600
"""Until a view says its size: sharp on most screens at full width."""
MAX_WANTED = 6
"""Large pictures one `want` may ask for: four compared, or the open one's two neighbours."""
MAX_HELD = 12
"""Large pictures a canvas keeps (about 12 x 0.5 MB of JPEG at 2048 px): memory stays bounded."""
PREVIEW_CACHE_BYTES = 48 * 2**20
"""Encoded large-view bytes a canvas keeps, whatever their count: twelve huge PNGs must not add up."""


def preview_px(value: Any) -> int:
    """The longest side to fetch previews at: an int, capped into MIN_PREVIEW_PX..MAX_PREVIEW_PX for memory.

    Raises a sentence for anything that is not a whole number (a crafted message), so the trait keeps
    its last good value.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"preview_px must be a whole number of pixels, got {type(value).__name__}.")
    return max(MIN_PREVIEW_PX, min(MAX_PREVIEW_PX, value))


def wanted_previews(value: Any, known: Container[str]) -> list[str]:
    """The ids of a `want` message's `previews` field that this canvas knows, deduplicated, at most
    MAX_WANTED; anything malformed is no ids."""
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for item in value:
        if isinstance(item, str) and item in known and item not in out:
            out.append(item)
        if len(out) == MAX_WANTED:
            break
    return out


class PreviewCache:
    """The previews a canvas holds, least recently used dropped first past `limit` pictures or
    `max_bytes` encoded bytes (one picture over the byte budget is kept alone: the open one must show)."""

    def __init__(self, limit: int = MAX_HELD, *, max_bytes: int = PREVIEW_CACHE_BYTES) -> None:
        self._limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._held: OrderedDict[str, tuple[str, int, Thumbnail]] = OrderedDict()

    def get(self, scenery_id: str, url: str, px: int) -> Thumbnail | None:
        held = self._held.get(scenery_id)
        if held is None or held[0] != url or held[1] != px:
            return None
        self._held.move_to_end(scenery_id)
        return held[2]

    def put(self, scenery_id: str, url: str, px: int, picture: Thumbnail) -> None:
        self._drop(scenery_id)
        self._held[scenery_id] = (url, px, picture)
        self.bytes += len(picture.data)
        while len(self._held) > 1 and (len(self._held) > self._limit or self.bytes > self.max_bytes):
            self._drop(next(iter(self._held)))

    def keep_only(self, keep: Container[str]) -> None:
        for scenery_id in [i for i in self._held if i not in keep]:
            self._drop(scenery_id)

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, scenery_id: object) -> bool:
        return scenery_id in self._held

    def _drop(self, scenery_id: str) -> None:
        held = self._held.pop(scenery_id, None)
        if held is not None:
            self.bytes -= len(held[2].data)
