"""The messages between the widgets and the browser, named once (the browser's side: `js/protocol.js`).

Traits carry state; these custom messages carry intents (browser -> Python) and bytes (Python ->
browser: pictures, the large view, downloads). Every message is a dict with a `kind`. Pictures travel
as binary buffers, in the order of the message's `pictures` list. `docs/protocol.md` is the table.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Literal, TypedDict

import traitlets

__all__ = [
    "ALIVE",
    "CONFIRM",
    "DOWNLOAD",
    "FILE",
    "GENERATE",
    "HELLO",
    "HISTORY",
    "MARK",
    "MARKED",
    "MORE_RUNS",
    "PATCH",
    "PREVIEW",
    "PRODUCT",
    "REFRESH",
    "RETRY",
    "RETRY_FAILED",
    "RUN_AGAIN",
    "THUMBS",
    "TOGGLE_RUN",
    "USE_PROMPT",
    "USE_RUN_PROMPT",
    "WANT",
    "BrowserMessage",
    "BrowserWrites",
    "FileMessage",
    "Handler",
    "MessageRouter",
    "PatchMessage",
    "PictureRef",
    "PreviewMessage",
    "ThumbsMessage",
    "checked_message",
    "file_message",
    "web_link",
]

# Browser -> Python, any results canvas (library or runs).
HELLO = "hello"  # a view was drawn: fields `ids` (thumbnails it lacks); answered with a `patch` of changes
ALIVE = "alive"  # a view is still open (every 20 s); silence for a minute stops pushes
WANT = "want"  # fields `ids` (thumbnails), `preview` (the large view's id, or null), `previews` (to prefetch)
USE_PROMPT = "use_prompt"  # field `id`: put that card's prompt into the form
DOWNLOAD = (
    "download"  # fields `what` ("sheet", "pdf", "zip", "review", "picks_sheet", "picks_zip") and `ids`;
)
# `request` (the asking view's id, sent back with the file)
PRODUCT = "product"  # both ways, one buffer: a cutout picked in the browser / the checked one (`fmt`, `v`)
MARK = "mark"  # fields `ids`, `flag` ("pick" | "reject" | "" | null), `stars` (0-5 | null): set marks
# Browser -> Python, the library.
REFRESH = "refresh"
# Browser -> Python, the runs.
TOGGLE_RUN = "toggle_run"  # field `key`: fold or unfold a run
RUN_AGAIN = "run_again"  # fields `key`, `yes` (absent: ask in the run's header; bool: the answer)
USE_RUN_PROMPT = "use_run_prompt"  # field `key`: put that run's prompt into the form
RETRY_FAILED = "retry_failed"  # fields `key`, `yes` (absent: ask beside "Retry N failed"; bool: the answer)
MORE_RUNS = "more_runs"  # show the next runs folded into the "older runs" line
# Browser -> Python, the prompt form.
GENERATE = "generate"  # fields `prompt`, `count`
CONFIRM = "confirm"  # field `yes`: the answer to "generate this again?" or a spending question
RETRY = "retry"  # send the unconfirmed submission again, with its idempotency key
HISTORY = "history"  # field `index`: reuse a recent prompt

# Python -> browser (canvas).
THUMBS = "thumbs"  # `pictures` with one buffer each: the answer to `want` and `hello`
PATCH = "patch"  # `cards` (changed fields by id) and `pictures` (new thumbnails riding along)
PREVIEW = "preview"  # fields `id`, `fmt`, `w`, `h`; one buffer: the large view's picture
FILE = "file"  # fields `name`, `mime`, `request` (the download's); one buffer: for the asking view to save
MARKED = "marked"  # the answer to `mark` (after `marks` is synced): drop the marks drawn ahead of it


class _PictureId(TypedDict):
    id: str
    v: int


class PictureRef(_PictureId, total=False):
    """One picture in a message: the card's id and the version of its thumbnail; `fmt` when not jpeg."""

    fmt: str


class ThumbsMessage(TypedDict):
    kind: Literal["thumbs"]
    pictures: list[PictureRef]


class PatchMessage(TypedDict):
    kind: Literal["patch"]
    cards: list[dict[str, object]]
    pictures: list[PictureRef]


class PreviewMessage(TypedDict):
    kind: Literal["preview"]
    id: str
    fmt: str


class FileMessage(TypedDict):
    kind: Literal["file"]
    name: str
    mime: str
    request: str


logger = logging.getLogger("qamera_widgets.widgets")

MAX_IDS = 500
"""The most ids one message or the selection carries: more than any page or run shows."""
MAX_ID_CHARS = 128
"""Server ids are UUIDs; anything much longer is not one."""


_BAD = object()
"""What a field check answers for a value of the wrong shape."""


def _ids(value: object) -> object:
    """A list of ids, each a short string, deduplicated in order and capped at MAX_IDS."""
    if not isinstance(value, list) or not all(isinstance(i, str) and len(i) <= MAX_ID_CHARS for i in value):
        return _BAD
    return list(dict.fromkeys(value))[:MAX_IDS]


def _short_text(value: object) -> object:
    return value if isinstance(value, str) and len(value) <= MAX_ID_CHARS else _BAD


def _optional_id(value: object) -> object:
    """The large view's id, or null."""
    return None if value is None else _short_text(value)


def _what(value: object) -> object:
    return value if value in ("sheet", "pdf", "zip", "review", "picks_sheet", "picks_zip") else _BAD


def _yes(value: object) -> object:
    return value if isinstance(value, bool) else _BAD


def _index(value: object) -> object:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000
    return value if ok else _BAD


def _any(value: object) -> object:
    """Checked by the widget itself, which answers a bad value with a sentence (the form's count)."""
    return value


def _never(_value: object) -> object:
    """A field the view never sends: a retry's count is Python's own count of the run's failures, so a
    message that names one was not written by the view and is refused whole."""
    return _BAD


def _prompt(value: object) -> object:
    return value if isinstance(value, str) else _BAD


_Check = Callable[[object], object]
_FIELDS: dict[str, tuple[dict[str, _Check], dict[str, _Check]]] = {
    # kind: (required fields, optional fields); a check answering _BAD means malformed.
    ALIVE: ({}, {}),
    HELLO: ({}, {"ids": _ids}),
    WANT: ({}, {"ids": _ids, "preview": _optional_id, "previews": _ids}),
    USE_PROMPT: ({"id": _short_text}, {}),
    DOWNLOAD: ({"what": _what}, {"ids": _ids, "request": _short_text}),
    MARK: ({"ids": _ids}, {"flag": _any, "stars": _any}),  # flag and stars: checked like mark() is
    PRODUCT: ({}, {"fmt": _any}),  # the cutout is the buffer, checked like any downloaded image
    REFRESH: ({}, {}),
    TOGGLE_RUN: ({"key": _short_text}, {}),
    RUN_AGAIN: ({"key": _short_text}, {"yes": _yes}),  # `yes`: the answer to the question in the run
    USE_RUN_PROMPT: ({"key": _short_text}, {}),
    RETRY_FAILED: ({"key": _short_text}, {"yes": _yes, "count": _never}),
    MORE_RUNS: ({}, {}),
    GENERATE: ({}, {"prompt": _prompt, "count": _any}),
    CONFIRM: ({"yes": _yes}, {}),
    RETRY: ({}, {}),
    HISTORY: ({"index": _index}, {}),
}


def checked_message(content: object, kinds: Iterable[str]) -> dict[str, Any] | None:
    """The message with its fields checked (ids deduplicated and capped), or None, logged once at debug
    level, when it is not one of `kinds` or a field has the wrong shape: a page's devtools can send
    anything, and the kernel answers only what its own view would send."""
    if not isinstance(content, Mapping):
        logger.debug("dropped a browser message that is not an object: %s", type(content).__name__)
        return None
    kind = content.get("kind")
    if not isinstance(kind, str) or kind not in kinds or kind not in _FIELDS:
        logger.debug("dropped a browser message of unknown kind %.40r", kind)
        return None
    required, optional = _FIELDS[kind]
    clean: dict[str, Any] = {"kind": kind}
    for name, check in (*required.items(), *optional.items()):
        if name not in content:
            if name in required:
                logger.debug("dropped a %s message without its field %r", kind, name)
                return None
            continue
        value = check(content[name])
        if value is _BAD:
            logger.debug("dropped a %s message with a malformed field %r", kind, name)
            return None
        clean[name] = value
    return clean


def bounded_ids(value: object, *, limit: int = MAX_IDS) -> list[str]:
    """A validator's body for an id list trait: strings of at most MAX_ID_CHARS, deduplicated in order,
    at most `limit` of them; a TraitError that says what to fix otherwise."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) for i in value):
        raise traitlets.TraitError(f"Expected a list of scenery ids (strings), not {type(value).__name__}.")
    ids = list(dict.fromkeys(value))
    if len(ids) > limit:
        raise traitlets.TraitError(f"At most {limit} pictures can be selected at once, not {len(ids)}.")
    if any(len(i) > MAX_ID_CHARS for i in ids):
        raise traitlets.TraitError(f"A scenery id is at most {MAX_ID_CHARS} characters long.")
    return ids


def bounded_int(value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise traitlets.TraitError(f"{what} must be a whole number from {low} to {high}, not {value!r}.")
    return value


def bounded_text(value: object, limit: int, what: str) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise traitlets.TraitError(f"{what} is at most {limit} characters long.")
    return value


class BrowserMessage(dict[str, Any]):
    """A message from the browser that `checked_message` let through (its fields, by name), with the binary
    buffers that came with it (a product cutout's file)."""

    def __init__(self, fields: Mapping[str, Any], buffers: Sequence[Any] = ()) -> None:
        super().__init__(fields)
        self.buffers = list(buffers)


Handler = Callable[[BrowserMessage], object]
"""What a widget does with one kind of message."""


class MessageRouter:
    """How a widget hears its browser: one table from each message kind it answers to its handler.

    Nothing is handled once the widget is closed, and only messages `checked_message` lets through (a
    kind in the table, fields of the right types); a handler that fails is logged, never raised, since an
    exception would go up into the kernel's comm handler. The widget hands this to `on_msg`.
    """

    def __init__(self, widget: str, handlers: Mapping[str, Handler]) -> None:
        self._widget = widget
        self._handlers = dict(handlers)
        self._closed = False

    def close(self) -> None:
        self._closed = True

    def __call__(self, _widget: object, content: object, buffers: Sequence[Any]) -> None:
        if self._closed:
            return
        checked = checked_message(content, self._handlers)
        if checked is None:
            return
        try:
            self._handlers[checked["kind"]](BrowserMessage(checked, buffers))
        except Exception:
            logger.exception("%s: handling a browser message failed", self._widget)


class BrowserWrites:
    """Only the traits named in `writable` are taken from the browser; each is checked by its trait's type
    and validators like any Python write (`apply`, the widget's own `set_state`). A refused update (a trait
    the browser must not write, or a bad value) is dropped with one debug line and the browser is sent the
    kernel's value again (`send_back`), so its view cannot drift from what Python holds."""

    def __init__(
        self,
        writable: Collection[str],
        *,
        apply: Callable[[dict[str, Any]], object],
        send_back: Callable[[list[str]], object],
    ) -> None:
        self._writable = frozenset(writable)
        self._apply = apply
        self._send_back = send_back

    def take(self, sync_data: Mapping[str, Any]) -> None:
        refused = [name for name in sync_data if name not in self._writable]
        for name, value in sync_data.items():
            if name in refused:
                continue
            try:
                self._apply({name: value})
            except (traitlets.TraitError, TypeError, ValueError) as exc:
                logger.debug("refused a browser update of %s: %s", name, exc)
                refused.append(name)
        if refused:
            logger.debug("restored traits the browser may not set this way: %s", ", ".join(refused))
            self._send_back(refused)


def file_message(name: str, mime: str, request: str) -> dict[str, str]:
    """The `file` message that carries a download (its bytes are the one buffer) to the view that asked."""
    return {"kind": FILE, "name": name, "mime": mime, "request": request}


def web_link(url: object) -> str:
    """`url` when it is a plain http(s) address with a host, else '': "Open original" must never be a
    `javascript:` or `data:` link, whatever a server (or a forged shared list) put there."""
    if not isinstance(url, str) or len(url) > 4096 or any(ch.isspace() for ch in url):
        return ""
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:
        return ""
    return url if parsed.scheme in ("http", "https") and parsed.hostname else ""
