"""Typed, immutable views of what the API returns.

Parsing is tolerant where the contract is loose (unknown statuses, null thumbnails, timestamps
with or without milliseconds) and strict only where nothing sensible can follow (no `id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from ..contract import FAILED_STATUSES, TERMINAL_STATUSES
from .errors import ResponseFormatError

__all__ = ["Registration", "Scenery", "parse_timestamp"]


def parse_timestamp(value: object) -> datetime | None:
    """ISO-8601 to an aware datetime; naive times are taken as UTC, anything unreadable as None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _optional_str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    raise ResponseFormatError(f"Scenery field {key!r} should be a string, got {type(value).__name__}.")


@dataclass(frozen=True)
class Scenery:
    """One generated background as listed by `GET /api/external/sceneries`."""

    id: str
    name: str
    thumbnail: str | None
    status: str
    voting: str | None
    created_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_api(cls, item: object) -> Scenery:
        """Build from one list item; raises `ResponseFormatError` naming the field that is unusable."""
        if type(item) is dict:
            fast = cls._from_plain_item(item)
            if fast is not None:
                return fast
        if not isinstance(item, Mapping):
            raise ResponseFormatError(
                f"Each entry of 'sceneries' should be an object, got {type(item).__name__}."
            )
        raw_id = item.get("id")
        if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
            raise ResponseFormatError("A scenery in the response has no 'id' field.")
        if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool):
            raise ResponseFormatError(f"Scenery field 'id' should be a string, got {type(raw_id).__name__}.")
        thumbnail = _optional_str(item, "thumbnail")
        status = _optional_str(item, "status")
        return cls(
            id=str(raw_id),
            name=_optional_str(item, "name") or "",
            thumbnail=thumbnail or None,
            status=(status or "UNKNOWN").strip().upper() or "UNKNOWN",
            voting=_optional_str(item, "voting"),
            created_at=parse_timestamp(item.get("createdAt")),
            raw=MappingProxyType(dict(item)),
        )

    @classmethod
    def _from_plain_item(cls, item: dict[str, Any]) -> Scenery | None:
        """The common case (every field a string or null) in a few dict lookups, since a 20,000-item list
        is read on every poll; None sends anything unusual to the general path, which names problems."""
        raw_id, name, thumbnail = item.get("id"), item.get("name"), item.get("thumbnail")
        status, voting = item.get("status"), item.get("voting")
        if type(raw_id) is not str or not raw_id.strip():
            return None
        for value in (name, thumbnail, status, voting):
            if value is not None and type(value) is not str:
                return None
        return cls(
            id=raw_id,
            name=name or "",
            thumbnail=thumbnail or None,
            status=(status or "UNKNOWN").strip().upper() or "UNKNOWN",
            voting=voting,
            created_at=parse_timestamp(item.get("createdAt")),
            raw=MappingProxyType(item),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_done(self) -> bool:
        return self.status == "DONE"

    @property
    def is_failed(self) -> bool:
        return self.status in FAILED_STATUSES

    @property
    def is_approved(self) -> bool:
        return (self.voting or "").upper() == "APPROVED"


@dataclass(frozen=True)
class Registration:
    """A confirmed generation job: the ids to track and what was reserved for it."""

    record_ids: tuple[str, ...]
    batch_id: str
    order_id: str
    reservation_id: str
    credits_reserved: int
    correlation_id: str | None
    idempotency_key: str
    preferences: str
    count: int
    submitted_at: datetime
