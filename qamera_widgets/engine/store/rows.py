"""Rows in and out of SQLite: registrations, unconfirmed attempts, final statuses, counts and marks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ...client.models import parse_timestamp
from ...contract import TERMINAL_STATUSES
from .records import MARK_FLAGS, JobRecord, batch_key, public_key_id
from .schema import from_sql_text, json_text, sql_text


def where_clause(base_url: str | None, key_id: str | None, prefix: str = "") -> tuple[list[str], list[Any]]:
    where, params = [], []
    if base_url is not None:
        where.append(f"{prefix}base_url = ?")
        params.append(sql_text(base_url))
    if key_id is not None:
        where.append(f"{prefix}key_id = ?")
        params.append(sql_text(key_id))
    return where, params


def parse_time(value: object) -> datetime:
    parsed = parse_timestamp(from_sql_text(value))
    return (parsed or datetime(1970, 1, 1, tzinfo=timezone.utc)).astimezone(timezone.utc)


def job_of(row: Sequence[Any], final: dict[str, str]) -> JobRecord:
    (
        url,
        kid,
        prompt,
        count,
        ids,
        batch,
        order,
        reservation,
        credits,
        submitted,
        idem,
        comp,
        tmpl,
        parts,
        retry_of,
        _,
    ) = row
    return JobRecord(
        base_url=from_sql_text(url),
        key_id=None if kid is None else from_sql_text(kid),
        prompt=from_sql_text(prompt),
        count=int(count),
        record_ids=tuple(json.loads(ids)),
        batch_id=from_sql_text(batch),
        order_id=from_sql_text(order),
        reservation_id=from_sql_text(reservation),
        credits_reserved=int(credits),
        submitted_at=parse_time(submitted),
        final=final,
        idempotency_key=from_sql_text(idem),
        comparison=from_sql_text(comp),
        template=from_sql_text(tmpl),
        parts=tuple((str(t), bool(v)) for t, v in json.loads(parts)),
        retry_of=from_sql_text(retry_of),
    )


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


INSERT_REGISTRATION = (
    "INSERT OR IGNORE INTO registrations (base_url, job_key, key_id, prompt, count, record_ids, "
    "batch_id, order_id, reservation_id, credits_reserved, idempotency_key, submitted_at, comparison, "
    "template, parts, retry_of, open_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def registration_row(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    ids = [str(i) for i in entry["record_ids"]]
    batch_id = str(entry.get("batch_id") or "")
    comparison = str(entry.get("comparison") or "")
    parts = [list(p) for p in entry.get("parts") or ()] if comparison else []
    return (
        sql_text(entry["base_url"]),
        sql_text(batch_key(batch_id, ids)),
        None if entry.get("key_id") is None else sql_text(str(public_key_id(entry["key_id"]))),
        sql_text(str(entry["prompt"])),
        int(entry["count"]),
        json_text(ids),
        sql_text(batch_id),
        sql_text(str(entry.get("order_id") or "")),
        sql_text(str(entry.get("reservation_id") or "")),
        int(entry["credits_reserved"]),
        sql_text(str(entry.get("idempotency_key") or "")),
        _iso(entry["submitted_at"]),
        sql_text(comparison),
        sql_text(str(entry.get("template") or "") if comparison else ""),
        json_text(parts),
        sql_text(str(entry.get("retry_of") or "")),
    )


def insert_registration(db: sqlite3.Connection, entry: Mapping[str, Any]) -> None:
    row = registration_row(entry)
    cursor = db.execute(INSERT_REGISTRATION, (*row, 0))
    if cursor.rowcount == 1:  # a replayed POST confirms the same job twice: the first one stays
        seq = cursor.lastrowid
        ids = json.loads(row[5])
        db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?)",
            [(row[0], sql_text(i), seq, n) for n, i in enumerate(ids)],
        )
        recount(db, "seq = ?", (seq,))
    if entry.get("idempotency_key"):
        db.execute("DELETE FROM unconfirmed WHERE base_url = ? AND idempotency_key = ?", (row[0], row[10]))


def open_count(row: tuple[Any, ...], finals: Mapping[tuple[str, str], object]) -> int:
    url = from_sql_text(row[0])
    return sum(1 for i in set(json.loads(row[5])) if (url, i) not in finals)


def recount(db: sqlite3.Connection, where: str, params: Sequence[Any]) -> None:
    """Keep `open_count` (records without a final status) right, so `pending` is one indexed query."""
    db.execute(
        "UPDATE registrations SET open_count = (SELECT COUNT(DISTINCT r.record_id) FROM records r "
        "WHERE r.seq = registrations.seq AND NOT EXISTS (SELECT 1 FROM finals f "
        f"WHERE f.base_url = r.base_url AND f.record_id = r.record_id)) WHERE {where}",
        params,
    )


def insert_unconfirmed(db: sqlite3.Connection, entry: Mapping[str, Any]) -> None:
    db.execute(
        "INSERT OR IGNORE INTO unconfirmed (base_url, idempotency_key, key_id, prompt, count, attempted_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            sql_text(entry["base_url"]),
            sql_text(str(entry["idempotency_key"])),
            None if entry.get("key_id") is None else sql_text(str(public_key_id(entry["key_id"]))),
            sql_text(str(entry["prompt"])),
            int(entry["count"]),
            _iso(entry["attempted_at"]),
        ),
    )


def insert_finals(db: sqlite3.Connection, base_url: str, statuses: Mapping[str, str], when: str) -> None:
    url = sql_text(base_url)
    rows = [(url, sql_text(i), s, when) for i, s in statuses.items() if s in TERMINAL_STATUSES]
    if not rows:
        return
    db.executemany("INSERT OR REPLACE INTO finals VALUES (?, ?, ?, ?)", rows)
    ids = [r[1] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        recount(
            db,
            "seq IN (SELECT seq FROM records WHERE base_url = ? "
            f"AND record_id IN ({','.join('?' * len(chunk))}))",
            (url, *chunk),
        )


def checked_mark(mark: object) -> tuple[str, int]:
    """The last line of defence: the review code validates marks; a wrong one still never reaches the file."""
    if not isinstance(mark, tuple) or len(mark) != 2:
        raise ValueError(f"a mark is a (flag, stars) pair, not {mark!r}")
    flag, stars = mark
    if flag not in MARK_FLAGS:
        raise ValueError(f"a mark's flag must be 'pick', 'reject' or '', not {flag!r}")
    if isinstance(stars, bool) or not isinstance(stars, int) or not 0 <= stars <= 5:
        raise ValueError(f"a mark's stars must be a whole number from 0 to 5, not {stars!r}")
    return str(flag), stars
