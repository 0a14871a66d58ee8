"""A person's marks on pictures and the book that keeps them: one per account in the process, in the
local store.

A mark is a flag (pick or reject) and a rating (0 to 5 stars): what the reviewer decided here, not the
service's vote and not the generation status. Every mark, from a Python call or a browser message, is
checked here before anything is stored, with the sentence a person reads (`MarkError`).

Every view of one (service base URL, key id) in a kernel reads and writes the same `MarkBook`, so a
pick made in the large view of the runs shows at once on the library's card. The book is backed by
the local store (shared by every kernel of the user, surviving restarts) when there is one; without
it, marks last as long as the kernel. The key's secret is never part of a key: a whole key passed by
mistake is cut down to its public id before anything is kept.
"""

from __future__ import annotations

import logging
import numbers
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ...client.models import Scenery
from ...runtime.registry import ProcessWide
from ..store import open_store, public_key_id

__all__ = [
    "FLAGS",
    "MAX_ID_CHARS",
    "MAX_STARS",
    "NO_MARK",
    "PICK",
    "REJECT",
    "Mark",
    "MarkBook",
    "MarkError",
    "MarkRequest",
    "MarkStore",
    "MemoryMarkStore",
    "apply_mark",
    "check_flag",
    "check_ids",
    "check_stars",
    "mark_book",
    "mark_books",
    "mark_request",
    "marks_from_trait",
    "marks_trait",
    "open_default_store",
    "refuse_failed",
    "request_from_message",
    "shown",
    "use_store",
]

PICK, REJECT = "pick", "reject"
FLAGS = (PICK, REJECT, "")
"""A flag is a pick, a reject, or nothing ('' clears it)."""
MAX_STARS = 5
MAX_ID_CHARS = 200
"""Longer than any id a server gives; a crafted browser message cannot park a megabyte in the store."""
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


def shown(value: object) -> str:
    """A value as a sentence quotes it: its repr, cut short."""
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
        f'A flag is "pick", "reject" or "" to clear it, not {shown(flag)}{hint}: '
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
        why = f"{shown(stars)} is text: write the number without quotes"
    elif isinstance(stars, float):
        why = f"{stars!r} is not a whole number"
    elif isinstance(stars, numbers.Integral):
        why = f"{stars} is outside 0-{MAX_STARS}"
    else:
        why = f"{shown(stars)} is not a number"
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
            f"Say which pictures to mark with a scenery id or a list of them, not {shown(ids)}: "
            'e.g. mark(["<id>"], flag="pick") or mark(view.selected_ids, stars=3).'
        )
    chosen: dict[str, None] = {}
    for item in items:
        scenery_id = item.id if isinstance(item, Scenery) else item
        if not isinstance(scenery_id, str) or not scenery_id.strip():
            raise MarkError(
                f"A scenery id is a non-empty string (or a Scenery), not {shown(scenery_id)}: "
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
        raise MarkError(f"A mark message names its pictures as a list of scenery ids, not {shown(ids)}.")
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
        raise MarkError(f"Marks are a dict of scenery id to {{'flag', 'stars'}}, not {shown(value)}.")
    result: dict[str, Mark] = {}
    for scenery_id, entry in value.items():
        (checked_id,) = check_ids([scenery_id])
        if not isinstance(entry, Mapping) or set(entry) - {"flag", "stars"}:
            raise MarkError(
                f"The mark of {checked_id!r} should be {{'flag': 'pick', 'stars': 3}}, not {shown(entry)}."
            )
        result[checked_id] = Mark(check_flag(entry.get("flag", "")), check_stars(entry.get("stars", 0)))
    return result


logger = logging.getLogger(__name__)

MarksListener = Callable[[Mapping[str, Mark]], object]


class MarkStore(Protocol):
    """Where marks outlive the kernel: `engine.store.LocalStore` has exactly these two methods."""

    def marks(self, base_url: str, key_id: str) -> dict[str, tuple[str, int]]:
        """Every marked scenery of the account: id -> (flag, stars)."""
        ...

    def set_marks(self, base_url: str, key_id: str, marks: Mapping[str, tuple[str, int]]) -> None:
        """Write these marks; ("", 0) deletes one."""
        ...


class MemoryMarkStore:
    """A `MarkStore` in this process's memory: what two kernels sharing one store look like in a test,
    and a stand-in wherever no file should be written."""

    def __init__(self) -> None:
        self._accounts: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}
        self._lock = threading.Lock()
        self.writes = 0
        """How many `set_marks` calls reached it (tests check what a refused mark did not do)."""

    def marks(self, base_url: str, key_id: str) -> dict[str, tuple[str, int]]:
        with self._lock:
            return dict(self._accounts.get((base_url, key_id), {}))

    def set_marks(self, base_url: str, key_id: str, marks: Mapping[str, tuple[str, int]]) -> None:
        with self._lock:
            self.writes += 1
            account = self._accounts.setdefault((base_url, key_id), {})
            for scenery_id, (flag, stars) in marks.items():
                if flag or stars:
                    account[scenery_id] = (flag, stars)
                else:
                    account.pop(scenery_id, None)


def open_default_store() -> MarkStore | None:
    """The store new books use: the process-wide `LocalStore` of the current home folder
    (`QAMERA_WIDGETS_HOME`), the one file every kernel of the user shares, so a mark outlives the kernel.

    A store that cannot be opened is not a reason to stop reviewing: the store falls back to memory and
    says why in its `problem`, which the book shows as `unsaved`.
    """
    return open_store()


_store_opener: Callable[[], MarkStore | None] = open_default_store


def use_store(opener: Callable[[], MarkStore | None]) -> None:
    """Choose where books made from now on keep their marks (tests; a notebook that wants no file).

    Books already made keep theirs; `mark_books.clear()` forgets them, as a new kernel would.
    """
    global _store_opener
    _store_opener = opener


class MarkBook:
    """The marks of one account (`base_url`, `key_id`), in memory and, when there is one, in the store.

    Reads never touch the store: it is read once when the book is made and again on `reload()`. Each
    `mark()` writes through at once, so another kernel (or this one after a restart) finds it. A store
    that fails to write does not lose the mark for this session: it stays in memory, `unsaved` says
    why, and the next `mark()` or `reload()` tries again.
    """

    def __init__(self, base_url: str, key_id: str | None, *, store: MarkStore | None = None) -> None:
        self.base_url = base_url.strip().rstrip("/")
        self.key_id = public_key_id(key_id) or ""
        self._store = store
        self._marks: dict[str, Mark] = {}
        self._unsaved: dict[str, Mark] = {}
        self._problem = ""
        self._lock = threading.RLock()
        self._listeners: list[MarksListener] = []
        self.reload()

    def __repr__(self) -> str:
        kept = "in the store" if self._store is not None else "in memory only"
        return (
            f"MarkBook(base_url={self.base_url!r}, key_id={self.key_id!r}, {len(self._marks)} marked, {kept})"
        )

    @property
    def persistent(self) -> bool:
        """Whether marks outlive the kernel (a store is attached)."""
        return self._store is not None

    @property
    def unsaved(self) -> str:
        """Why some marks are only in memory ('' when the store has all of them): a write that raised,
        or the store's own `problem` sentence (a `LocalStore` that fell back to memory says so there)."""
        own = getattr(self._store, "problem", "")
        return self._problem or (own if isinstance(own, str) else "")

    def get(self, scenery_id: str) -> Mark:
        return self._marks.get(scenery_id, NO_MARK)

    def marks(self) -> dict[str, Mark]:
        """Every marked picture of the account: a copy."""
        with self._lock:
            return dict(self._marks)

    def trait(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, str | int]]:
        """What a view's `marks` trait holds: marked pictures only, among `ids` when given."""
        with self._lock:
            return marks_trait(self._marks, ids)

    def ids(self, flag: str) -> list[str]:
        """The ids flagged `flag` ("pick" or "reject"), in the order they were marked."""
        return [i for i, m in self.marks().items() if m.flag == flag]

    def mark(
        self,
        ids: object,
        *,
        flag: object = None,
        stars: object = None,
        known: Collection[str] | None = None,
    ) -> dict[str, Mark]:
        """Set the flag and/or stars of the pictures `ids` (an id, a Scenery, or a list of them).

        Everything is checked first (a bad flag, stars outside 0-5, an id outside `known`): a MarkError
        says what to fix and nothing is stored. Returns the marks that changed; listeners hear them.
        """
        return self.apply(mark_request(ids, flag=flag, stars=stars, known=known))

    def apply(self, request: MarkRequest) -> dict[str, Mark]:
        """Carry out a request `mark_request` already checked (a browser message, say)."""
        changed: dict[str, Mark] = {}
        with self._lock:
            for scenery_id in request.ids:
                old = self._marks.get(scenery_id, NO_MARK)
                new = apply_mark(old, flag=request.flag, stars=request.stars)
                if new != old:
                    changed[scenery_id] = new
            if not changed:
                return {}
            for scenery_id, new in changed.items():
                if new.marked:
                    self._marks[scenery_id] = new
                else:
                    self._marks.pop(scenery_id, None)
            self._save(changed)
        self._tell(changed)
        return changed

    def reload(self) -> dict[str, Mark]:
        """Read the store again (another kernel may have marked since); returns what changed here.

        Marks the store could not take yet are written first, so a reload never drops them.
        """
        if self._store is None:
            return {}
        with self._lock:
            if self._unsaved:
                self._save({})
            try:
                stored = self._store.marks(self.base_url, self.key_id)
            except Exception as exc:  # any store failure: keep what memory has, say why
                self._problem = _problem_sentence("read", exc)
                logger.warning("marks: %s", self._problem)
                return {}
            fresh = {i: Mark(*_stored(i, v)) for i, v in stored.items()}
            fresh = {i: m for i, m in fresh.items() if m.marked}
            fresh.update(self._unsaved)
            changed = {
                i: fresh.get(i, NO_MARK) for i in {*self._marks, *fresh} if self._marks.get(i) != fresh.get(i)
            }
            self._marks = fresh
        if changed:
            self._tell(changed)
        return changed

    def subscribe(self, listener: MarksListener) -> Callable[[], None]:
        """Call `listener(changed)` after every change, from whichever view or thread made it; returns
        the function that unsubscribes (a view calls it when it closes)."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _save(self, changed: Mapping[str, Mark]) -> None:
        if self._store is None:
            return
        pending = {**self._unsaved, **changed}
        try:
            self._store.set_marks(self.base_url, self.key_id, {i: m.as_tuple() for i, m in pending.items()})
        except Exception as exc:  # a full disk or a locked file must not stop reviewing
            self._unsaved = pending
            self._problem = _problem_sentence("write", exc)
            logger.warning("marks: %s", self._problem)
            return
        self._unsaved = {}
        self._problem = ""

    def _tell(self, changed: Mapping[str, Mark]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(dict(changed))
            except Exception:  # one broken view must not keep the others from hearing
                logger.exception("marks: a listener failed")


def _stored(scenery_id: str, value: object) -> tuple[str, int]:
    """A stored (flag, stars) pair, or unmarked when the store holds something this version cannot read."""
    try:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise MarkError("not a (flag, stars) pair")
        mark = Mark(value[0], value[1])
    except MarkError:
        logger.warning("marks: the stored mark of %r is unreadable and was ignored", scenery_id)
        return ("", 0)
    return mark.as_tuple()


def _problem_sentence(verb: str, exc: Exception) -> str:
    if verb == "write":
        where, done = "kept for this session only", "written"
    else:
        where, done = "shown as this kernel last knew them", "read"
    return f"Marks are {where}: the local store could not be {done} ({type(exc).__name__}: {exc})."


mark_books: ProcessWide[tuple[str, str], MarkBook] = ProcessWide(
    lambda key: MarkBook(key[0], key[1], store=_store_opener())
)
"""One book per (base URL, key id). Process-wide because every view of one account in a kernel (runs,
library, a second Studio) must show the same marks the moment one of them changes."""


def mark_book(base_url: str, key_id: str | None) -> MarkBook:
    """The process's book for this account (made, and read from the store, on first use)."""
    return mark_books[(base_url.strip().rstrip("/"), public_key_id(key_id) or "")]
