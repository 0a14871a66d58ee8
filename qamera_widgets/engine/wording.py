"""The words every view shares: plurals and the sentences about pictures and credits, written once.

Views never pluralise or price on their own: a number of pictures is said by `pictures`, credits by
`contract.price_for`, so the form, the runs and the library agree word for word.
"""

from __future__ import annotations

from ..client import QameraError

__all__ = ["TIMED_OUT_WORDS", "describe_error", "excerpt", "pictures", "plural"]

TIMED_OUT_WORDS = "no longer watched"
"""The one way a view says that this kernel stopped waiting for a record (the server may still finish
it): the card's label, a run's progress and the tracker's notice all use these words."""


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` and the noun in the right number: "1 picture", "3 pictures", "2 runs"."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def pictures(count: int) -> str:
    return plural(count, "picture")


def excerpt(text: object, limit: int = 80) -> str:
    """One line of at most `limit` characters, for labels where a whole prompt would not fit."""
    flat = " ".join(("" if text is None else str(text)).split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)].rstrip() + "…"


def describe_error(exc: BaseException) -> str:
    """One plain sentence for a person looking at a view; never a traceback, never the key.

    The package's errors carry their own sentence; anything else is named by its type."""
    if isinstance(exc, QameraError):
        return str(exc)
    return f"Something went wrong: {type(exc).__name__}: {exc}"
