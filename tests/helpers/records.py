"""A registration as the client returns it, for tests that need one without a server: one factory, so a
new field of `Registration` is filled in one place and every test's records look alike."""

from __future__ import annotations

from datetime import datetime, timezone

from qamera_widgets.client.models import Registration
from qamera_widgets.contract import price_for

WHEN = datetime(2026, 3, 20, 13, 0, tzinfo=timezone.utc)


def make_registration(
    ids: tuple[str, ...] = ("r1", "r2", "r3"),
    batch: str = "b1",
    *,
    prompt: str = "oak",
    submitted_at: datetime = WHEN,
    correlation_id: str | None = None,
) -> Registration:
    """A confirmed job over `ids`, its order, reservation and idempotency key derived from `batch`."""
    return Registration(
        record_ids=ids,
        batch_id=batch,
        order_id=f"o-{batch}",
        reservation_id=f"res-{batch}",
        credits_reserved=price_for(len(ids)),
        correlation_id=correlation_id,
        idempotency_key=f"idem-{batch}",
        preferences=prompt,
        count=len(ids),
        submitted_at=submitted_at,
    )
