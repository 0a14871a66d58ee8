"""Which marked pictures a view shows: the marks filter ("all", "picks", "rejects", "unmarked", a least
number of stars) and the rating order a library or a run applies.

The marks themselves (`Mark`, the checks that name the fix) are `book`'s, beside the book that keeps them.
Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from .book import NO_MARK, PICK, REJECT, Mark, MarkError, check_stars, shown

__all__ = [
    "MARK_FILTERS",
    "filter_by_marks",
    "matches_marks",
    "sort_by_rating",
]

MARK_FILTERS = ("all", "picks", "rejects", "unmarked")


class HasId(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound="HasId | Mapping[str, Any]")


def _id_of(item: HasId | Mapping[str, Any]) -> str:
    """Cards are dicts with an "id", sceneries have an `.id`: filters serve both."""
    if isinstance(item, Mapping):
        return str(item["id"])
    return item.id


def matches_marks(mark: Mark, *, show: str = "all", min_stars: int = 0) -> bool:
    """Whether a picture with `mark` passes a marks filter (see `filter_by_marks`)."""
    if show == "picks" and mark.flag != PICK:
        return False
    if show == "rejects" and mark.flag != REJECT:
        return False
    if show == "unmarked" and mark.marked:
        return False
    return mark.stars >= min_stars


def _check_filter(show: str, min_stars: int) -> None:
    if show not in MARK_FILTERS:
        raise MarkError(
            f"Filter by marks with one of {', '.join(map(repr, MARK_FILTERS))}, not {shown(show)}."
        )
    check_stars(min_stars)
    if show == "unmarked" and min_stars > 0:
        raise MarkError(
            f"Unmarked pictures have no stars, so 'unmarked' with at least {min_stars} stars shows nothing: "
            "set min_stars=0 or choose another filter."
        )


def filter_by_marks(
    items: Iterable[Item], marks: Mapping[str, Mark], *, show: str = "all", min_stars: int = 0
) -> list[Item]:
    """Cards or sceneries that pass: `show` is "all", "picks", "rejects" or "unmarked", and `min_stars`
    keeps those rated at least that many stars (0: any). Order is kept."""
    _check_filter(show, min_stars)
    if show == "all" and min_stars == 0:
        return list(items)
    return [
        item
        for item in items
        if matches_marks(marks.get(_id_of(item), NO_MARK), show=show, min_stars=min_stars)
    ]


def sort_by_rating(
    items: Sequence[Item], marks: Mapping[str, Mark], *, highest_first: bool = True
) -> list[Item]:
    """By stars; pictures with equal stars keep the order they came in (newest first, say), so sorting
    by rating after the library's own sort gives "best first, newest first among equals"."""
    sign = -1 if highest_first else 1
    return sorted(items, key=lambda item: sign * marks.get(_id_of(item), NO_MARK).stars)
