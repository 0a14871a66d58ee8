"""An account's credits and the two moves that change them: reserve a batch, settle one item. Pure, so
the arithmetic the store runs inside its transactions is tested on its own."""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import insufficient_credits_message

__all__ = ["InsufficientCredits", "Ledger", "reserve", "settle"]


@dataclass(frozen=True)
class Ledger:
    """An account's credits. `available + reserved + consumed` never changes: refunds go back to available."""

    available: int
    reserved: int = 0
    consumed: int = 0
    refunded: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "available": self.available,
            "reserved": self.reserved,
            "consumed": self.consumed,
            "refunded": self.refunded,
        }


class InsufficientCredits(Exception):
    """A batch costs more than the account has available; carries the numbers the 402 message names."""

    def __init__(self, required: int, available: int) -> None:
        self.required = required
        self.available = available
        super().__init__(insufficient_credits_message(required, available))


def reserve(ledger: Ledger, amount: int) -> Ledger:
    """Move `amount` from available to reserved, or refuse without touching anything."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    if amount > ledger.available:
        raise InsufficientCredits(amount, ledger.available)
    return Ledger(ledger.available - amount, ledger.reserved + amount, ledger.consumed, ledger.refunded)


def settle(ledger: Ledger, amount: int, *, succeeded: bool) -> Ledger:
    """Release one item's reservation: spent when it succeeded, returned to available when it failed."""
    if not 0 <= amount <= ledger.reserved:
        raise ValueError(f"cannot settle {amount} with {ledger.reserved} reserved")
    if succeeded:
        return Ledger(ledger.available, ledger.reserved - amount, ledger.consumed + amount, ledger.refunded)
    return Ledger(
        ledger.available + amount, ledger.reserved - amount, ledger.consumed, ledger.refunded + amount
    )
