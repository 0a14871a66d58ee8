"""Picture sync: which thumbnail version each card has, what changed since the cards were synced, and
whether any view is listening. No traitlets and no comm: the canvas asks this for the next message.

Thumbnails are pulled, not pushed: a card names the version of its thumbnail that Python holds, and
each view asks for the versions it lacks. A status change goes out as a small "patch" of the changed
fields; the patch log keeps every field changed since `cards` was last synced, for a view starting now.
A view says it is alive every 20 s; after a minute of silence nothing more is pushed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .imaging import Thumbnail

__all__ = ["LISTENER_TIMEOUT_SECONDS", "Picture", "PictureSync"]

LISTENER_TIMEOUT_SECONDS = 60.0
"""Views say they are alive every 20 s (canvas.js); after a minute of silence the widget stops pushing."""


@dataclass
class Picture:
    """What Python holds for one card's thumbnail: the URL it came from and the encoded bytes."""

    url: str
    thumb: Thumbnail
    version: int


class PictureSync:
    """The pictures held for cards, and the changes and pictures not yet sent to the views."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pictures: dict[str, Picture] = {}
        self._versions = 0
        self._pending_cards: dict[str, dict[str, Any]] = {}
        self._pending_pictures: dict[str, None] = {}
        self._heard_until = 0.0
        self.log: dict[str, dict[str, Any]] = {}
        """Every field changed in place since `cards` was last synced: what a view starting now lacks."""

    # Views.
    def heard(self) -> None:
        """A view spoke (hello, alive, want) or is about to be drawn: push changes for a while."""
        self._heard_until = self._clock() + LISTENER_TIMEOUT_SECONDS

    def listening(self) -> bool:
        """Whether a view is probably there: a closed tab says nothing, so silence means nobody, and
        nothing more is pushed (the changes are kept for the next view's hello)."""
        return self._clock() < self._heard_until

    # Pictures.
    def current(self, card_id: str, url: str | None) -> Picture | None:
        """The picture held for a card if it came from `url` (a new URL means a new picture)."""
        picture = self._pictures.get(card_id)
        return picture if picture is not None and url and picture.url == url else None

    def get(self, card_id: str) -> Picture | None:
        return self._pictures.get(card_id)

    def add(self, card_id: str, url: str, thumb: Thumbnail, *, push: bool) -> int:
        """Hold a newly loaded picture; its version. `push`: send it with the next patch if a view listens."""
        self._versions += 1
        self._pictures[card_id] = Picture(url, thumb, self._versions)
        if push and self.listening():
            self._pending_pictures[card_id] = None
        return self._versions

    def keep_only(self, keep: set[str]) -> None:
        """Drop the pictures of cards no longer listed, so memory follows what can be shown."""
        self._pictures = {i: p for i, p in self._pictures.items() if i in keep}

    def refs(self, ids: Iterable[str]) -> tuple[list[dict[str, Any]], list[bytes]]:
        """The `pictures` field of a message and its buffers, for the ids that have a picture."""
        refs: list[dict[str, Any]] = []
        buffers: list[bytes] = []
        for card_id in ids:
            picture = self._pictures.get(card_id)
            if picture is None:
                continue
            ref: dict[str, Any] = {"id": card_id, "v": picture.version}
            if picture.thumb.format != "jpeg":
                ref["fmt"] = picture.thumb.format
            refs.append(ref)
            buffers.append(picture.thumb.data)
        return refs, buffers

    # Card changes.
    def changed(self, card_id: str, delta: dict[str, Any]) -> None:
        """Fields of a card changed in place: logged for later views, queued for the listening ones."""
        self.log.setdefault(card_id, {"id": card_id}).update(delta)
        if self.listening():
            self._pending_cards.setdefault(card_id, {"id": card_id}).update(delta)

    def cards_replaced(self, ids: set[str]) -> None:
        """A new card list is about to be synced: queued changes of cards no longer drawn are dropped."""
        self._pending_cards = {k: v for k, v in self._pending_cards.items() if k in ids}

    def cards_synced(self) -> None:
        self.log = {}

    def pending(self) -> bool:
        return bool(self._pending_cards or self._pending_pictures)

    def drop_pending(self) -> None:
        self._pending_cards, self._pending_pictures = {}, {}

    def take_patch(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[bytes]] | None:
        """The next patch, as (changed card fields, picture refs, buffers), or None when nothing is
        pending: a picture costs no round trip, and a card whose picture rides along needs no "thumb"."""
        if not self.pending():
            return None
        refs, buffers = self.refs(self._pending_pictures)
        carried = {ref["id"] for ref in refs}
        cards = []
        for card_id, delta in self._pending_cards.items():
            rest = {k: v for k, v in delta.items() if not (k == "thumb" and card_id in carried)}
            if len(rest) > 1:
                cards.append(rest)
        self.drop_pending()
        return cards, refs, buffers

    def catch_up(self) -> list[dict[str, Any]]:
        """For a view that just said hello: the changes since the cards it was drawn from."""
        return list(self.log.values())
