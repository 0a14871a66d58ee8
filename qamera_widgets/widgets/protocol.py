"""The messages between the widgets and the browser, named once (the browser's side: `js/protocol.js`).

Traits carry state; these custom messages carry intents (browser -> Python) and bytes (Python ->
browser: pictures, the large view, downloads). Every message is a dict with a `kind`. Pictures travel
as binary buffers, in the order of the message's `pictures` list. `docs/protocol.md` is the table.
"""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "ALIVE",
    "CONFIRM",
    "DOWNLOAD",
    "FILE",
    "GENERATE",
    "HELLO",
    "HISTORY",
    "MORE_RUNS",
    "PATCH",
    "PREVIEW",
    "REFRESH",
    "RETRY",
    "RUN_AGAIN",
    "THUMBS",
    "TOGGLE_RUN",
    "USE_PROMPT",
    "USE_RUN_PROMPT",
    "WANT",
    "FileMessage",
    "PatchMessage",
    "PictureRef",
    "PreviewMessage",
    "ThumbsMessage",
]

# Browser -> Python, any results canvas (library or runs).
HELLO = "hello"  # a view was drawn: fields `ids` (thumbnails it lacks); answered with a `patch` of changes
ALIVE = "alive"  # a view is still open (every 20 s); silence for a minute stops pushes
WANT = "want"  # fields `ids` (thumbnails) and `preview` (the large view's id, or null)
USE_PROMPT = "use_prompt"  # field `id`: put that card's prompt into the form
DOWNLOAD = (
    "download"  # fields `what` ("sheet" or "zip"), `ids` (the selection as shown), `request` (view's id)
)
# Browser -> Python, the library.
REFRESH = "refresh"
# Browser -> Python, the runs.
TOGGLE_RUN = "toggle_run"  # field `key`: fold or unfold a run
RUN_AGAIN = "run_again"  # fields `key`, `yes` (absent: ask in the run's header; bool: the answer)
USE_RUN_PROMPT = "use_run_prompt"  # field `key`: put that run's prompt into the form
MORE_RUNS = "more_runs"  # show the next runs folded into the "older runs" line
# Browser -> Python, the prompt form.
GENERATE = "generate"  # fields `prompt`, `count`
CONFIRM = "confirm"  # field `yes`: the answer to "generate this again?" or a spending question
RETRY = "retry"  # send the unconfirmed submission again, with its idempotency key
HISTORY = "history"  # field `index`: reuse a recent prompt

# Python -> browser (canvas).
THUMBS = "thumbs"  # `pictures` with one buffer each: the answer to `want` and `hello`
PATCH = "patch"  # `cards` (changed fields by id) and `pictures` (new thumbnails riding along)
PREVIEW = "preview"  # fields `id`, `fmt`; one buffer: the large view's picture
FILE = "file"  # fields `name`, `mime`, `request` (the download's); one buffer: for the asking view to save


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
