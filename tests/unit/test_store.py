"""The local store on real SQLite files, with real subprocesses where kernels are the subject: marks, the
old journal's import, kill -9 mid-write, a full disk, a read-only folder, damaged and foreign files, a
symlink out of the folder, and two kernels writing 10,000 jobs each."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.engine.store import (
    DB_FILE,
    JobRecord,
    LocalStore,
    StoreUnavailableError,
    StoreWarning,
    forget_stores,
    open_store,
)

BASE_URL = "https://app.example"


def job(n: int, who: str = "p") -> dict[str, object]:
    return {
        "base_url": BASE_URL,
        "key_id": "key42",
        "prompt": f"oak table {who} {n}",
        "count": 1,
        "record_ids": [f"{who}-{n}"],
        "batch_id": f"b-{who}-{n}",
        "order_id": "o",
        "reservation_id": "v",
        "credits_reserved": 10,
        "idempotency_key": f"idem-{who}-{n}",
        "submitted_at": "2026-03-20T13:00:00+00:00",
    }


# -- marks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mark", [("like", 1), ("pick", 6), ("pick", -1), ("pick", True), ("pick", 2.0), "pick"]
)
def test_a_mark_out_of_range_is_refused_and_nothing_is_saved(tmp_path: Path, mark: object) -> None:
    store = open_store(tmp_path)
    with pytest.raises(ValueError):
        store.set_marks(BASE_URL, "key42", {"ok": ("pick", 1), "bad": mark})  # type: ignore[dict-item]
    assert store.marks(BASE_URL, "key42") == {}


# -- the old journal --------------------------------------------------------------------------------


def old_line(n: int) -> bytes:
    entry = {"type": "registration", **job(n, "old")}
    return json.dumps(entry).encode() + b"\n"


def test_an_old_journal_is_imported_once_with_bad_lines_skipped_and_renamed_not_deleted(
    tmp_path: Path,
) -> None:
    legacy = tmp_path / "journal.jsonl"
    final = {"type": "final", "base_url": BASE_URL, "statuses": {"old-0": "DONE"}, "recorded_at": "x"}
    legacy.write_bytes(
        old_line(0)
        + b"{not json\n"
        + old_line(1)
        + json.dumps(final).encode()
        + b"\n"
        + b"[1]\n"
        + old_line(2)[:30]
    )
    with pytest.warns(StoreWarning) as caught:
        store = open_store(tmp_path)
    ours = [w for w in caught if issubclass(w.category, StoreWarning)]
    assert len(ours) == 1 and "lines 2, 5, 6" in str(ours[0].message)
    assert [j.batch_id for j in store.jobs()] == ["b-old-0", "b-old-1"]
    assert [j.batch_id for j in store.jobs(pending_only=True)] == ["b-old-1"]
    assert not legacy.exists() and (tmp_path / "journal.jsonl.imported").read_bytes().startswith(old_line(0))

    forget_stores()  # a new kernel: nothing imported twice, nothing warned again
    legacy.write_bytes((tmp_path / "journal.jsonl.imported").read_bytes())  # as if the rename had failed
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = open_store(tmp_path)
    assert len(again.jobs()) == 2


# -- crashes and broken disks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"this is not a database, it is a note" * 100, "damaged"),
        (b"SQLite format 3\x00" + os.urandom(4000), "damaged"),
        (None, "not a qamera-widgets store"),
    ],
)
def test_a_damaged_or_foreign_file_gives_one_sentence_and_is_left_alone(
    tmp_path: Path, content: bytes | None, words: str
) -> None:
    path = tmp_path / DB_FILE
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    else:
        path.write_bytes(content)
    before = path.read_bytes()

    store = open_store(tmp_path)
    with pytest.raises(StoreUnavailableError, match=words) as refused:
        store.record_registration(job(1))
    assert "not being saved" in (refused.value.strerror or "")
    with pytest.warns(StoreWarning):
        assert [j.batch_id for j in store.jobs()] == ["b-p-1"]
    assert path.read_bytes() == before


def test_a_store_file_that_links_outside_its_folder_is_refused(tmp_path: Path) -> None:
    folder, outside = tmp_path / "home", tmp_path / "elsewhere.db"
    folder.mkdir()
    outside.write_bytes(b"")
    (folder / DB_FILE).symlink_to(outside)
    store = open_store(folder)
    with pytest.raises(StoreUnavailableError, match="symbolic link") as refused:
        store.record_registration(job(1))
    assert str(outside) in (refused.value.strerror or "") and "not being saved" in (
        refused.value.strerror or ""
    )
    assert outside.read_bytes() == b""


def test_an_old_journal_that_links_outside_its_folder_is_neither_read_nor_renamed(tmp_path: Path) -> None:
    folder, outside = tmp_path / "home", tmp_path / "secret.jsonl"
    folder.mkdir()
    outside.write_bytes(old_line(0))
    (folder / "journal.jsonl").symlink_to(outside)
    with pytest.warns(StoreWarning, match="symbolic link"):
        store = open_store(folder)
    assert store.jobs() == [] and outside.read_bytes() == old_line(0)
    assert (folder / "journal.jsonl").is_symlink()


def test_a_store_file_linked_inside_its_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "real.sqlite3").write_bytes(b"")
    (tmp_path / DB_FILE).symlink_to(tmp_path / "real.sqlite3")
    store = open_store(tmp_path)
    store.record_registration(job(1))
    assert store.problem == "" and (tmp_path / "real.sqlite3").stat().st_size > 0


# -- two kernels --------------------------------------------------------------------------------------


# -- views reading the store at start ---------------------------------------------------------------


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The arguments of every file read behind `LocalStore.jobs` from now on (a cached answer adds none)."""
    reads: list[object] = []
    real = LocalStore._jobs

    def counted(self: LocalStore, *args: Any) -> list[JobRecord]:
        reads.append(args)
        return real(self, *args)

    monkeypatch.setattr(LocalStore, "_jobs", counted)
    return reads


def test_a_store_held_too_long_by_another_kernel_refuses_the_write_but_stays_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qamera_widgets.engine.store import local  # where the connection reads the timeout

    monkeypatch.setattr(local, "BUSY_TIMEOUT_MS", 300)
    store = open_store(tmp_path)
    store.record_registration(job(1))
    other = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a kernel stuck mid-write (it holds SQLite's lock, not ours)
    try:
        with pytest.raises(StoreUnavailableError, match="busy"):
            store.record_registration(job(2))
        with pytest.warns(StoreWarning, match="busy"):
            store.set_marks(BASE_URL, "key42", {"s1": ("pick", 1)})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.problem == ""
    store.record_registration(job(3))
    assert [j.batch_id for j in LocalStore(tmp_path).jobs()] == ["b-p-1", "b-p-3"]
