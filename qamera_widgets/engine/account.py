"""The sandbox account shown live: read the ledger off the kernel's loop, say it in one line.

The Studio shows it while it talks to a sandbox; reading it is a database read, so it runs in a
thread, and a stopped sandbox is said in words rather than raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

__all__ = ["ACCOUNT_INTERVAL_SECONDS", "account_line", "account_text", "watch_account"]

logger = logging.getLogger(__name__)

ACCOUNT_INTERVAL_SECONDS = 2.0
_LEDGER_FIELDS = ("available", "reserved", "consumed", "refunded")

Ledger = Callable[[], Mapping[str, int]]


def account_text(ledger: Mapping[str, int]) -> str:
    """The sandbox ledger in one line, in the order a person reads their balance."""
    return " · ".join(f"{ledger.get(name, 0)} {name}" for name in _LEDGER_FIELDS)


async def account_line(read: Ledger) -> str:
    """What the account line says now; the ledger is read in a thread, off the kernel's loop."""
    try:
        ledger = await asyncio.to_thread(read)
    except Exception as exc:
        logger.info("sandbox account unavailable: %s", type(exc).__name__)
        return "Sandbox account unavailable (is the sandbox stopped?)"
    return f"Credits: {account_text(ledger)}"


async def watch_account(
    read: Ledger, show: Callable[[str], None], stopped: Callable[[], bool], interval: float
) -> None:
    """Show the account line every `interval` seconds until `stopped()`; `show` only sets a trait, which
    is safe in Voila, where nothing may be displayed from a task."""
    while not stopped():
        show(await account_line(read))
        await asyncio.sleep(interval)
