"""A person's own decision about a picture: a flag (pick or reject) and a rating (0 to 5 stars).

Marks are not the service's vote (approved / rejected by someone else) and not the generation status:
they are what the reviewer decided here. Everything in this module is pure: validation that answers
with the sentence a person reads, the shapes marks take on the wire (a browser message, a synced
trait), and the filters and sort a library or a run applies by marks.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ...client.models import Scenery

__all__ = [
    "FLAGS",
    "MARK_FILTERS",
    "MAX_ID_CHARS",
    "MAX_STARS",
    "NO_MARK",
    "PICK",
    "REJECT",
    "Mark",
    "MarkError",
    "MarkRequest",
    "apply_mark",
    "check_flag",
    "check_ids",
    "check_stars",
    "filter_by_marks",
    "mark_request",
    "marks_from_trait",
    "marks_trait",
    "matches_marks",
    "refuse_failed",
    "request_from_message",
    "sort_by_rating",
]

PICK, REJECT = "pick", "reject"
FLAGS = (PICK, REJECT, "")
"""A flag is a pick, a reject, or nothing ('' clears it)."""
MAX_STARS = 5
MAX_ID_CHARS = 200
"""Longer than any id a server gives; a crafted browser message cannot park a megabyte in the store."""
MARK_FILTERS = ("all", "picks", "rejects", "unmarked")
_SHOWN_IDS = 3


class MarkError(ValueError):
    """A mark that cannot be set; the message says what to write instead. Nothing was stored."""


@dataclass(frozen=True)
class Mark:
    """One picture's flag and stars; `Mark()` (no flag, no stars) means unmarked."""

    flag: str = ""
    stars: int = 0

    def __post_init__(self) -> None:
        check_flag(self.flag)
        check_stars(self.stars)

    @property
    def marked(self) -> bool:
        return bool(self.flag) or self.stars > 0

    def as_dict(self) -> dict[str, str | int]:
        """The trait's and the browser's shape: ``{"flag": "pick", "stars": 3}``."""
        return {"flag": self.flag, "stars": self.stars}

    def as_tuple(self) -> tuple[str, int]:
        """The store's shape: ``("pick", 3)``; ``("", 0)`` deletes."""
        return (self.flag, self.stars)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_flag(flag: object) -> str:
    """The flag if it is one of "pick", "reject" or "" (clear); else a MarkError naming the fix."""
    if isinstance(flag, str) and flag in FLAGS:
        return flag
    hint = ""
    if isinstance(flag, str) and flag.strip().casefold() in (PICK, REJECT):
        hint = f" (write it in lower case, without spaces: {flag.strip().casefold()!r})"
    elif flag is None:
        hint = " (to leave the flag as it is, do not pass flag at all)"
    raise MarkError(
        f'A flag is "pick", "reject" or "" to clear it, not {_shown(flag)}{hint}: '
        'use flag="pick" for P, flag="reject" for X, flag="" for U.'
    )


def check_stars(stars: object) -> int:
    """The stars if they are a whole number from 0 to 5; else a MarkError naming the fix."""
    # Integral, not int: a rating read from a numpy array or a pandas column is a whole number too.
    if isinstance(stars, numbers.Integral) and not isinstance(stars, bool) and 0 <= int(stars) <= MAX_STARS:
        return int(stars)
    if isinstance(stars, bool):
        why = f"{stars!r} is a yes/no value, not a number"
    elif isinstance(stars, str):
        why = f"{_shown(stars)} is text: write the number without quotes"
    elif isinstance(stars, float):
        why = f"{stars!r} is not a whole number"
    elif isinstance(stars, numbers.Integral):
        why = f"{stars} is outside 0-{MAX_STARS}"
    else:
        why = f"{_shown(stars)} is not a number"
    raise MarkError(f"Stars are a whole number from 0 to {MAX_STARS} (0 clears them); {why}.")


NO_MARK = Mark()


def check_ids(ids: object, known: Collection[str] | None = None) -> tuple[str, ...]:
    """The scenery ids to mark, in order without repeats, from an id, a Scenery, or a list of either
    (an empty list marks nothing, so marking an empty selection is no error).

    With `known` (the ids a view shows or holds), an id outside it is refused with a sentence naming
    it: a mark for a picture nobody can see would be a mark nobody can undo from that view.
    """
    if isinstance(ids, (str, Scenery)):
        items: Iterable[object] = (ids,)
    elif isinstance(ids, Iterable) and not isinstance(ids, (bytes, Mapping)):
        items = ids
    else:
        raise MarkError(
            f"Say which pictures to mark with a scenery id or a list of them, not {_shown(ids)}: "
            'e.g. mark(["<id>"], flag="pick") or mark(view.selected_ids, stars=3).'
        )
    chosen: dict[str, None] = {}
    for item in items:
        scenery_id = item.id if isinstance(item, Scenery) else item
        if not isinstance(scenery_id, str) or not scenery_id.strip():
            raise MarkError(
                f"A scenery id is a non-empty string (or a Scenery), not {_shown(scenery_id)}: "
                "take the ids from the view's cards, selected_ids or sceneries."
            )
        if len(scenery_id) > MAX_ID_CHARS:
            raise MarkError(
                f"A scenery id is at most {MAX_ID_CHARS} characters; this one has {len(scenery_id)}: "
                "take the ids from the view's cards, selected_ids or sceneries."
            )
        chosen[scenery_id] = None
    if known is not None:
        unknown = [i for i in chosen if i not in known]
        if unknown:
            listed = ", ".join(repr(i) for i in unknown[:_SHOWN_IDS])
            more = f" and {len(unknown) - _SHOWN_IDS} more" if len(unknown) > _SHOWN_IDS else ""
            noun = "is not a picture" if len(unknown) == 1 else "are not pictures"
            raise MarkError(
                f"{listed}{more} {noun} this view shows, so nothing was marked: mark only ids from its "
                "cards, selected_ids or sceneries (refresh it first if the picture is new)."
            )
    return tuple(chosen)


def apply_mark(current: Mark, *, flag: str | None = None, stars: int | None = None) -> Mark:
    """`current` with the flag and/or stars given replaced (None leaves that part as it is)."""
    return Mark(
        current.flag if flag is None else check_flag(flag),
        current.stars if stars is None else check_stars(stars),
    )


@dataclass(frozen=True)
class MarkRequest:
    """A validated request to mark pictures: which, and what to set (None: leave as it is)."""

    ids: tuple[str, ...]
    flag: str | None = None
    stars: int | None = None


def mark_request(
    ids: object,
    *,
    flag: object = None,
    stars: object = None,
    known: Collection[str] | None = None,
) -> MarkRequest:
    """Check a whole request before anything is stored: the ids, the flag, the stars, and that it sets
    something. The Python API (`mark(ids, flag=..., stars=...)`) and a browser message go through here."""
    if flag is None and stars is None:
        raise MarkError(
            'Say what to set: mark(ids, flag="pick"), mark(ids, flag="reject"), mark(ids, stars=3), '
            'or both; flag="" and stars=0 clear them.'
        )
    checked_flag = None if flag is None else check_flag(flag)
    checked_stars = None if stars is None else check_stars(stars)
    return MarkRequest(check_ids(ids, known), checked_flag, checked_stars)


def refuse_failed(ids: object, failed: Collection[str], *, flag: object = None, stars: object = None) -> None:
    """A failed picture has nothing to review (and no checkbox): a mark naming one is refused with a
    sentence, and nothing is stored, whether it came from Python or from a key in the browser. Clearing
    (flag "" or stars 0) is allowed, so a mark set on one before this rule can still be taken off."""
    if flag in (None, "") and stars in (None, 0):
        return
    named = check_ids(ids)
    bad = [i for i in named if i in failed]
    if bad:
        raise MarkError(
            f"That picture ({bad[0]}) failed to generate, so there is nothing to mark; "
            "\u201cRetry N failed\u201d on its run generates it again."
        )


def request_from_message(content: Mapping[str, object], known: Collection[str]) -> MarkRequest:
    """A browser's ``{"kind": "mark", "ids": [...], "flag": ..., "stars": ...}`` checked like a Python call,
    against the ids the view knows: a crafted message gets the same sentence and stores nothing."""
    unexpected = set(content) - {"kind", "ids", "flag", "stars"}
    if unexpected:
        raise MarkError(
            f"A mark message has ids, flag and stars only, not {', '.join(sorted(map(str, unexpected)))}."
        )
    ids = content.get("ids")
    if not isinstance(ids, list):
        raise MarkError(f"A mark message names its pictures as a list of scenery ids, not {_shown(ids)}.")
    return mark_request(ids, flag=content.get("flag"), stars=content.get("stars"), known=known)


def marks_trait(
    marks: Mapping[str, Mark], ids: Iterable[str] | None = None
) -> dict[str, dict[str, str | int]]:
    """The synced trait's value: ``{scenery_id: {"flag": ..., "stars": ...}}`` for marked pictures only,
    limited to `ids` (those a view knows) when given, so a view's state follows what it shows."""
    if ids is None:
        return {i: m.as_dict() for i, m in marks.items() if m.marked}
    return {i: m.as_dict() for i in ids if (m := marks.get(i)) is not None and m.marked}


def marks_from_trait(value: object) -> dict[str, Mark]:
    """Read a trait-shaped value back (e.g. to validate one set from the browser); MarkError if any
    entry is not ``{"flag": "pick" | "reject" | "", "stars": 0-5}`` keyed by a scenery id."""
    if not isinstance(value, Mapping):
        raise MarkError(f"Marks are a dict of scenery id to {{'flag', 'stars'}}, not {_shown(value)}.")
    result: dict[str, Mark] = {}
    for scenery_id, entry in value.items():
        (checked_id,) = check_ids([scenery_id])
        if not isinstance(entry, Mapping) or set(entry) - {"flag", "stars"}:
            raise MarkError(
                f"The mark of {checked_id!r} should be {{'flag': 'pick', 'stars': 3}}, not {_shown(entry)}."
            )
        result[checked_id] = Mark(check_flag(entry.get("flag", "")), check_stars(entry.get("stars", 0)))
    return result


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
            f"Filter by marks with one of {', '.join(map(repr, MARK_FILTERS))}, not {_shown(show)}."
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
