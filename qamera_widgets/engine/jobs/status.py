"""One status category for what the server says and what this kernel knows about a record.

The server says PENDING, PROCESSING, DONE or a failure; the tracker adds two local states: WAITING
(submitted, not in the list yet) and TIMED_OUT (this kernel stopped waiting; the server may still
finish it). Every view groups them the same six ways, in these words.
"""

from __future__ import annotations

from ...contract import DONE, FAILED_STATUSES
from ..wording import TIMED_OUT_WORDS
from .tracking import TIMED_OUT, WAITING

__all__ = ["LABELS", "STATES", "card_state", "state_of", "vote_state"]

STATES = ("queued", "processing", "waiting", "timed_out", "done", "failed")

LABELS = {
    "queued": "Queued",
    "processing": "Processing",
    "waiting": "Waiting to appear",
    "timed_out": TIMED_OUT_WORDS.capitalize(),
    "failed": "Failed · credits refunded",
    "done": "",
}
"""What a card says in each state (nothing once the picture is there)."""


def state_of(status: str) -> str | None:
    """The category of a server or local status; None for a status this package does not know."""
    upper = (status or "").upper()
    if upper == DONE:
        return "done"
    if upper in FAILED_STATUSES:
        return "failed"
    if upper == TIMED_OUT:
        return "timed_out"
    if upper == WAITING:
        return "waiting"
    return {"PENDING": "queued", "PROCESSING": "processing"}.get(upper)


def card_state(status: str) -> tuple[str, str]:
    """The state a card draws, and the words it shows.

    Unknown statuses are shown as the server wrote them, never guessed into a known one.
    """
    state = state_of(status)
    if state is None:
        return "other", status or "Unknown status"
    return state, LABELS[state]


def vote_state(voting: str | None) -> str:
    """The review mark: approved, rejected, or none (not reviewed, which includes the API's PENDING)."""
    upper = (voting or "").upper()
    if upper == "APPROVED":
        return "approved"
    if upper == "REJECTED":
        return "rejected"
    return "none"
