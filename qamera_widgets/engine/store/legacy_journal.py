"""Bringing in an old `journal.jsonl`: its lines validated with the journal's rules, then its entries
written in bulk.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import timezone
from typing import Any

from ...client.models import parse_timestamp
from ...contract import TERMINAL_STATUSES
from .rows import INSERT_REGISTRATION, insert_unconfirmed, open_count, recount, registration_row
from .schema import sql_text


def import_entries(db: sqlite3.Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    """An old journal's entries in bulk, with the journal's rules: the first confirmation of a job stays,
    a confirmation settles an earlier unconfirmed attempt under its key, the last final status counts."""
    before = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM registrations").fetchone()[0])
    registrations: list[tuple[Any, ...]] = []
    attempts: dict[tuple[str, str], Mapping[str, Any]] = {}
    finals: dict[tuple[str, str], tuple[str, str]] = {}
    for entry in entries:
        kind, url = entry["type"], entry["base_url"]
        if kind == "registration":
            registrations.append(registration_row(entry))
            if entry["idempotency_key"]:
                attempts.pop((url, entry["idempotency_key"]), None)
        elif kind == "unconfirmed":
            attempts.setdefault((url, entry["idempotency_key"]), entry)
        else:
            when = str(entry.get("recorded_at", ""))
            for record_id, status in entry["statuses"].items():
                if status in TERMINAL_STATUSES:
                    finals[(url, record_id)] = (status, when)
    fresh = not before and not db.execute("SELECT 1 FROM finals LIMIT 1").fetchone()
    # Into an empty store the open counts are known here; otherwise SQL counts them below.
    db.executemany(
        INSERT_REGISTRATION,
        [(*row, open_count(row, finals) if fresh else 0) for row in registrations],
    )
    added = db.execute("SELECT seq, base_url, record_ids FROM registrations WHERE seq > ?", (before,))
    db.executemany(
        "INSERT INTO records VALUES (?, ?, ?, ?)",
        [
            (url, sql_text(i), seq, n)
            for seq, url, ids in added.fetchall()
            for n, i in enumerate(json.loads(ids))
        ],
    )
    db.executemany(
        "DELETE FROM unconfirmed WHERE base_url = ? AND idempotency_key = ?",
        [(row[0], row[10]) for row in registrations if row[10]],
    )
    for entry in attempts.values():
        insert_unconfirmed(db, entry)
    db.executemany(
        "INSERT OR REPLACE INTO finals VALUES (?, ?, ?, ?)",
        [(sql_text(url), sql_text(i), status, when) for (url, i), (status, when) in finals.items()],
    )
    if not fresh:  # finals may finish jobs the store already had
        recount(db, "1", ())


# -- reading an old journal.jsonl (what the journal module validated, kept for the import) ----------------


def parse_journal(content: bytes, skipped: list[tuple[int, str]]) -> Iterator[dict[str, Any]]:
    """The valid entries of a JSON-lines journal; every other line lands in `skipped` with its number.

    Whatever a line holds (nesting deep enough for RecursionError, 1e999, wrong types) it is skipped, never
    fatal: the import exists so that the other lines are not lost."""
    lines = content.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            entry = _validated(json.loads(raw.decode("utf-8")))
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:200]
            if number == len(lines):
                reason = "the line is incomplete; the last write may have been cut off"
            skipped.append((number, reason))
            continue
        if entry is not None:
            yield entry


def _validated(entry: object) -> dict[str, Any] | None:
    """The entry with its fields checked and normalised; None for kinds this version does not know."""
    if not isinstance(entry, dict):
        raise TypeError("a line should hold a JSON object")
    kind = entry["type"]
    if not isinstance(entry["base_url"], str):
        raise TypeError("base_url should be text")
    if kind == "final":
        statuses = entry["statuses"]
        if not isinstance(statuses, dict) or not all(isinstance(s, str) for s in statuses.values()):
            raise TypeError("statuses should map ids to text")
        return {**entry, "statuses": {str(i): s.upper() for i, s in statuses.items()}}
    if kind == "unconfirmed":
        return _validated_unconfirmed(entry)
    if kind != "registration":
        return None
    ids = entry["record_ids"]
    if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
        raise TypeError("record_ids should be a list of ids")
    submitted_at = parse_timestamp(entry["submitted_at"])
    if submitted_at is None:
        raise ValueError("submitted_at is not an ISO time")
    count, credits = _whole_number(entry["count"]), entry["credits_reserved"]
    if isinstance(credits, bool) or not isinstance(credits, (int, float)):
        raise TypeError("credits_reserved should be a number")
    key_id = entry.get("key_id")
    return {
        "type": kind,
        "base_url": entry["base_url"],
        "key_id": None if key_id is None else str(key_id),
        "prompt": str(entry["prompt"]),
        "count": count,
        "record_ids": [str(i) for i in ids],
        "batch_id": str(entry.get("batch_id") or ""),
        "order_id": str(entry.get("order_id") or ""),
        "reservation_id": str(entry.get("reservation_id") or ""),
        "credits_reserved": int(credits),
        "idempotency_key": str(entry.get("idempotency_key") or ""),
        "submitted_at": submitted_at.astimezone(timezone.utc),
        **_comparison_of(entry),
    }


def _comparison_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The optional comparison a job belongs to; anything malformed there reads as no comparison."""
    comparison, template, parts = entry.get("comparison"), entry.get("template"), entry.get("parts")
    shaped = isinstance(parts, list) and all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], bool)
        for p in parts
    )
    if not (isinstance(comparison, str) and comparison and isinstance(template, str) and shaped):
        return {"comparison": "", "template": "", "parts": ()}
    assert isinstance(parts, list)
    return {"comparison": comparison, "template": template, "parts": tuple((t, v) for t, v in parts)}


def _whole_number(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("count should be a whole number")
    return count


def _validated_unconfirmed(entry: dict[str, Any]) -> dict[str, Any]:
    key = entry["idempotency_key"]
    if not isinstance(key, str) or not key:
        raise TypeError("idempotency_key should be non-empty text")
    attempted_at = parse_timestamp(entry["attempted_at"])
    if attempted_at is None:
        raise ValueError("attempted_at is not an ISO time")
    key_id = entry.get("key_id")
    return {
        "type": "unconfirmed",
        "base_url": entry["base_url"],
        "key_id": None if key_id is None else str(key_id),
        "prompt": str(entry["prompt"]),
        "count": _whole_number(entry["count"]),
        "idempotency_key": key,
        "attempted_at": attempted_at.astimezone(timezone.utc),
    }
