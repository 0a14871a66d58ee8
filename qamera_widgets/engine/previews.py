"""The large view's pictures a view keeps, bounded in bytes: a long review session cannot grow a kernel
by one decoded preview per picture opened."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from .images import Thumbnail

__all__ = ["PREVIEW_CACHE_BYTES", "PreviewCache"]

PREVIEW_CACHE_BYTES = 48 * 2**20
"""Encoded large-view pictures one view keeps; older ones are loaded again (from the disk cache)."""


class PreviewCache:
    """The large view's pictures by scenery id, least recently used dropped past `max_bytes`."""

    def __init__(self, max_bytes: int = PREVIEW_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[str, tuple[str, Thumbnail]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, scenery_id: object) -> bool:
        return scenery_id in self._items

    def __getitem__(self, scenery_id: str) -> tuple[str, Thumbnail]:
        self._items.move_to_end(scenery_id)
        return self._items[scenery_id]

    def get(self, scenery_id: str) -> tuple[str, Thumbnail] | None:
        return self[scenery_id] if scenery_id in self._items else None

    def __setitem__(self, scenery_id: str, entry: tuple[str, Thumbnail]) -> None:
        self._drop(scenery_id)
        self._items[scenery_id] = entry
        self.bytes += len(entry[1].data)
        while self.bytes > self.max_bytes and len(self._items) > 1:
            self._drop(next(iter(self._items)))

    def keep_only(self, keep: Iterable[str]) -> None:
        kept = set(keep)
        for scenery_id in [i for i in self._items if i not in kept]:
            self._drop(scenery_id)

    def _drop(self, scenery_id: str) -> None:
        entry = self._items.pop(scenery_id, None)
        if entry is not None:
            self.bytes -= len(entry[1].data)
