"""The marks of one account, held once per process and kept in the local store.

Every view of one (service base URL, key id) in a kernel reads and writes the same `MarkBook`, so a
pick made in the large view of the runs shows at once on the library's card. The book is backed by
the local store (shared by every kernel of the user, surviving restarts) when there is one; without
it, marks last as long as the kernel. The key's secret is never part of a key: a whole key passed by
mistake is cut down to its public id before anything is kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Protocol

from ...runtime.registry import ProcessWide
from ..store import open_store, public_key_id
from .marks import NO_MARK, Mark, MarkError, MarkRequest, apply_mark, mark_request, marks_trait

__all__ = [
    "MarkBook",
    "MarkStore",
    "MemoryMarkStore",
    "mark_book",
    "mark_books",
    "open_default_store",
    "use_store",
]

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
