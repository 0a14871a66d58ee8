"""The sandbox's state on SQLite: accounts and their ledgers, API keys, sceneries (which double as the
work queue), batches and idempotency records.

One connection behind a lock serves the event loop and the handle's thread alike; every write that must
be atomic (reserving a batch, settling an item) runs in one `BEGIN IMMEDIATE` transaction, so the ledger
stays exact however many requests arrive at once and whenever the process stops.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..contract import (
    DONE,
    FAILED,
    LIVE_KEY_ENV,
    PRICE_PER_ITEM,
    format_key,
    parse_key,
    price_for,
)
from .datadir import SandboxDataError
from .ledger import Ledger, reserve, settle
from .schema import SCHEMA

REGISTER_SCOPE = "content.register"
IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000
# SQLite's INTEGER is a signed 64-bit number: a larger grant cannot be stored, let alone added up.
MAX_CREDITS = 2**63 - 1
BUSY_TIMEOUT_SECONDS = 5.0


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different body."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    account_id: int
    scopes: frozenset[str]


@dataclass(frozen=True)
class SceneryRow:
    seq: int
    id: str
    account_id: int
    batch_id: str | None
    name: str
    prompt: str
    item_index: int
    status: str
    voting: str
    created_ms: int


_SCENERY_COLUMNS = tuple(f.name for f in fields(SceneryRow))


@dataclass(frozen=True)
class LibraryItem:
    """A ready scenery seeded into an account at start so a gallery has content at once."""

    name: str
    prompt: str
    voting: str
    created_ms: int


def _hash_secret(secret: str) -> str:
    # Secrets are 256 random bits, so a fast hash is enough: nothing is left to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


_DUMMY_HASH = _hash_secret("no-such-key")


def scenery_name(prompt: str, index: int) -> str:
    words = " ".join(prompt.split())
    title = words if len(words) <= 48 else words[:47].rstrip() + "…"
    return f"{title[:1].upper()}{title[1:]} #{index + 1}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _required_columns() -> dict[str, set[str]]:
    """Each table's columns as the schema above declares them, to recognise a file of another schema."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.executescript(SCHEMA)
        tables = [row[0] for row in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            table: {row[1] for row in probe.execute(f"PRAGMA table_info({table})")}
            for table in tables
            if not table.startswith("sqlite_")
        }
    finally:
        probe.close()


class Store:
    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path.exists() and path.stat().st_size == 0:
            # SQLite would take an empty file for a new database and start a fresh ledger, under which
            # every key issued before gets 401: say so instead of silently starting over.
            raise SandboxDataError(
                f"The sandbox database {path} is empty (0 bytes), so its accounts and keys are gone. "
                "Restore it from a backup, or delete it to start a fresh ledger."
            )
        self._db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise SandboxDataError(
                f"{path} is not a usable sandbox database ({exc}). Restore it from a backup, or move it "
                "away to start a fresh ledger."
            ) from None
        except SandboxDataError:
            self._db.close()
            raise

    def _check_schema(self) -> None:
        for table, wanted in _required_columns().items():
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            missing = sorted(wanted - present)
            if missing:
                raise SandboxDataError(
                    f"{self.path} holds a table {table!r} without the columns {', '.join(missing)}: it was "
                    "written by another program or version. Move it away (or pass another --data-dir) to "
                    "start a fresh ledger."
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def create_account(self, credits: int, *, origin: str) -> int:
        if credits < 0:
            raise ValueError("credits must not be negative")
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO accounts (origin, granted, available, reserved, consumed, refunded)"
                " VALUES (?, ?, ?, 0, 0, 0)",
                (origin, credits, credits),
            )
            return int(cursor.lastrowid or 0)

    def accounts_by_origin(self, origin: str) -> list[int]:
        return [
            row["id"]
            for row in self._query("SELECT id FROM accounts WHERE origin = ? ORDER BY id", (origin,))
        ]

    def issue_key(self, account_id: int, scopes: Sequence[str], *, expires_ms: int | None = None) -> str:
        """Store a new key's hash and return the only plaintext copy there will ever be."""
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_keys (key_id, account_id, secret_sha256, scopes, created_ms, expires_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, account_id, _hash_secret(secret), " ".join(scopes), now_ms(), expires_ms),
            )
        return format_key(key_id, secret)

    def issue_account_key(self, credits: int, scopes: Sequence[str], *, expires_ms: int | None = None) -> str:
        """A key with an account of its own, for exercising 402 and 403 beside the start accounts."""
        return self.issue_key(self.create_account(credits, origin="issued"), scopes, expires_ms=expires_ms)

    def revoke_key(self, key_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE api_keys SET revoked_ms = ? WHERE key_id = ?", (now_ms(), key_id))

    def authenticate(self, raw_key: str) -> ApiKey | None:
        """The key's record when it is known, matches, and is neither expired nor revoked."""
        parts = parse_key(raw_key)
        if parts is not None and parts.env != LIVE_KEY_ENV:
            parts = None  # the sandbox issues live keys only
        key_id, secret = (parts.key_id, parts.secret) if parts else ("", raw_key)
        rows = self._query("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)) if parts else []
        row = rows[0] if rows else None
        # Compare even for unknown ids so a miss costs the same time as a wrong secret.
        matches = hmac.compare_digest(_hash_secret(secret), row["secret_sha256"] if row else _DUMMY_HASH)
        if row is None or not matches or row["revoked_ms"] is not None:
            return None
        if row["expires_ms"] is not None and row["expires_ms"] <= now_ms():
            return None
        return ApiKey(row["key_id"], row["account_id"], frozenset(row["scopes"].split()))

    def account_of_key(self, key_id: str) -> int | None:
        rows = self._query("SELECT account_id FROM api_keys WHERE key_id = ?", (key_id,))
        return rows[0]["account_id"] if rows else None

    def ledger(self, account_id: int) -> Ledger:
        rows = self._query("SELECT * FROM accounts WHERE id = ?", (account_id,))
        if not rows:
            raise KeyError(account_id)
        return _ledger_of(rows[0])

    def add_library(self, account_id: int, items: Sequence[LibraryItem]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO sceneries (id, account_id, batch_id, name, prompt, item_index, status, voting,"
                " created_ms, price) VALUES (?, ?, NULL, ?, ?, ?, 'DONE', ?, ?, 0)",
                [
                    (
                        str(uuid.uuid4()),
                        account_id,
                        item.name,
                        item.prompt,
                        index,
                        item.voting,
                        item.created_ms,
                    )
                    for index, item in enumerate(items)
                ],
            )

    def register(
        self,
        account_id: int,
        preferences: str,
        count: int,
        *,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Reserve the batch's credits and queue its items in one transaction.

        `idempotency` is (key, body hash). Returns the response body and whether it is a replay of an
        earlier one; raises `InsufficientCredits` or `IdempotencyConflict` with nothing written.
        """
        created = now_ms()
        with self._transaction() as db:
            if idempotency is not None:
                key, body_hash = idempotency
                db.execute("DELETE FROM idempotency WHERE created_ms < ?", (created - IDEMPOTENCY_TTL_MS,))
                earlier = db.execute(
                    "SELECT body_sha256, response FROM idempotency WHERE account_id = ? AND key = ?",
                    (account_id, key),
                ).fetchone()
                if earlier is not None:
                    if not hmac.compare_digest(earlier["body_sha256"], body_hash):
                        raise IdempotencyConflict
                    return json.loads(earlier["response"]), True
            account = db.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
            cost = price_for(count)
            after = reserve(_ledger_of(account), cost)
            _write_ledger(db, account_id, after)
            batch_id, order_id, reservation_id = (str(uuid.uuid4()) for _ in range(3))
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (batch_id, account_id, order_id, reservation_id, preferences, count, cost, created),
            )
            ids = [str(uuid.uuid4()) for _ in range(count)]
            db.executemany(
                "INSERT INTO sceneries (id, account_id, batch_id, name, prompt, item_index, status, voting,"
                " created_ms, price) VALUES (?, ?, ?, ?, ?, ?, 'PENDING', 'PENDING', ?, ?)",
                [
                    (
                        scenery_id,
                        account_id,
                        batch_id,
                        scenery_name(preferences, index),
                        preferences,
                        index,
                        created,
                        PRICE_PER_ITEM,
                    )
                    for index, scenery_id in enumerate(ids)
                ],
            )
            response = {
                "createdRecordIds": ids,
                "batchId": batch_id,
                "orderId": order_id,
                "reservationId": reservation_id,
                "creditsReserved": cost,
            }
            if idempotency is not None:
                db.execute(
                    "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?)",
                    (account_id, idempotency[0], idempotency[1], json.dumps(response), created),
                )
            return response, False

    def list_sceneries(self, account_id: int, *, approved_only: bool = False) -> list[SceneryRow]:
        voting = " AND voting = 'APPROVED'" if approved_only else ""
        rows = self._query(
            f"SELECT * FROM sceneries WHERE account_id = ?{voting} ORDER BY created_ms DESC, seq DESC",
            (account_id,),
        )
        return [_scenery_of(row) for row in rows]

    def scenery(self, scenery_id: str) -> SceneryRow | None:
        rows = self._query("SELECT * FROM sceneries WHERE id = ?", (scenery_id,))
        return _scenery_of(rows[0]) if rows else None

    def requeue_unfinished(self) -> int:
        """Put items a stopped worker was holding back in the queue; their credits are still reserved."""
        with self._transaction() as db:
            return db.execute("UPDATE sceneries SET status = 'PENDING' WHERE status = 'PROCESSING'").rowcount

    def claim_next(self) -> SceneryRow | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM sceneries WHERE status = 'PENDING' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE sceneries SET status = 'PROCESSING' WHERE seq = ?", (row["seq"],))
            return _scenery_of(row, status="PROCESSING")

    def finish(self, scenery_id: str, *, succeeded: bool) -> bool:
        """End one item and settle its credits together; False when it was not being processed."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT account_id, price FROM sceneries WHERE id = ? AND status = 'PROCESSING'",
                (scenery_id,),
            ).fetchone()
            if row is None:
                return False
            account = db.execute("SELECT * FROM accounts WHERE id = ?", (row["account_id"],)).fetchone()
            _write_ledger(
                db, row["account_id"], settle(_ledger_of(account), row["price"], succeeded=succeeded)
            )
            db.execute(
                "UPDATE sceneries SET status = ? WHERE id = ?",
                (DONE if succeeded else FAILED, scenery_id),
            )
            return True

    def audit(self, account_id: int) -> list[str]:
        """Ways the account's ledger disagrees with its records; empty when every credit is accounted for."""
        with self._lock:
            account = self._db.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
            totals = {
                row["state"]: row["credits"]
                for row in self._db.execute(
                    "SELECT CASE WHEN status IN ('DONE', 'FAILED') THEN status ELSE 'OPEN' END AS state,"
                    " SUM(price) AS credits FROM sceneries WHERE account_id = ? GROUP BY state",
                    (account_id,),
                )
            }
        ledger = _ledger_of(account)
        problems = []
        if ledger.available + ledger.reserved + ledger.consumed != account["granted"]:
            problems.append(f"available + reserved + consumed != granted {account['granted']}: {ledger}")
        for name, state in (("reserved", "OPEN"), ("consumed", "DONE"), ("refunded", "FAILED")):
            if getattr(ledger, name) != totals.get(state, 0):
                problems.append(f"{name} {getattr(ledger, name)} != {totals.get(state, 0)} from the records")
        return problems


def _ledger_of(row: sqlite3.Row) -> Ledger:
    return Ledger(row["available"], row["reserved"], row["consumed"], row["refunded"])


def _write_ledger(db: sqlite3.Connection, account_id: int, ledger: Ledger) -> None:
    db.execute(
        "UPDATE accounts SET available = ?, reserved = ?, consumed = ?, refunded = ? WHERE id = ?",
        (ledger.available, ledger.reserved, ledger.consumed, ledger.refunded, account_id),
    )


def _scenery_of(row: sqlite3.Row, *, status: str | None = None) -> SceneryRow:
    """The row as stored (its columns carry the dataclass's names), or as it is about to be with `status`."""
    values = {name: row[name] for name in _SCENERY_COLUMNS}
    if status is not None:
        values["status"] = status
    return SceneryRow(**values)
