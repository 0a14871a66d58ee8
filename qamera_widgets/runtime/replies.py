"""Checks on the answers of the coordinator's Redis scripts: a reply of the wrong shape is refused.

Kept apart from `runtime.coordination` so that module stays readable; only it uses these.
"""

from __future__ import annotations

from typing import Any


def _book_reply(reply: Any) -> tuple[bool, int]:
    if not isinstance(reply, (list, tuple)) or len(reply) != 2:
        raise TypeError(f"a budget reply of type {type(reply).__name__}")
    booked, reserved = reply
    if type(booked) is not int or booked not in (0, 1) or type(reserved) is not int or reserved < 0:
        raise ValueError("a budget reply of an unknown shape")
    return bool(booked), reserved


def _flag_reply(reply: Any, allowed: tuple[int, ...]) -> int:
    if type(reply) is not int or reply not in allowed:
        raise ValueError(f"a reply {reply!r:.40} where {allowed} was expected")
    return reply
