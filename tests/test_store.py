"""The local store on real SQLite files, with real subprocesses where kernels are the subject: marks, the
old journal's import, kill -9 mid-write, a full disk, a read-only folder, damaged and foreign files, a
symlink out of the folder, and two kernels writing 10,000 jobs each."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
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
from tests.helpers.child import run_python

ROOT = Path(__file__).resolve().parent.parent
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


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


# -- marks ------------------------------------------------------------------------------------------


def test_marks_round_trip_across_two_processes(tmp_path: Path) -> None:
    written = run_python(
        """
        import sys
        from qamera_widgets.engine.store import open_store
        store = open_store(sys.argv[1])
        marks = {"s1": ("pick", 5), "s2": ("reject", 0), "s3": ("", 2)}
        store.set_marks("https://app.example", "key42", marks)
        """,
        str(tmp_path),
    )
    assert written.returncode == 0, written.stderr
    store = open_store(tmp_path)
    assert store.marks(BASE_URL, "key42") == {"s1": ("pick", 5), "s2": ("reject", 0), "s3": ("", 2)}
    assert store.marks(BASE_URL, "other") == {} and store.marks("http://127.0.0.1:1", "key42") == {}
    # A whole key passed by mistake still files the marks under its public id only.
    assert store.marks(BASE_URL, "mk_live_key42.s3cr3t") == store.marks(BASE_URL, "key42")

    store.set_marks(BASE_URL, "key42", {"s1": ("", 0), "s3": ("pick", 2)})  # ("", 0) deletes
    read = run_python(
        """
        import json, sys
        from qamera_widgets.engine.store import open_store
        print(json.dumps(open_store(sys.argv[1]).marks("https://app.example", "key42")))
        """,
        str(tmp_path),
    )
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == {"s2": ["reject", 0], "s3": ["pick", 2]}


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


def test_two_kernels_opening_while_a_big_journal_is_imported_both_see_all_of_it(tmp_path: Path) -> None:
    (tmp_path / "journal.jsonl").write_bytes(b"".join(old_line(n) for n in range(20_000)))
    code = """
        import sys, warnings
        warnings.simplefilter("ignore")
        from qamera_widgets.engine.store import open_store
        print(len(open_store(sys.argv[1]).jobs()))
        """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kernels = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), str(tmp_path)], stdout=subprocess.PIPE, env=env
        )
        for _ in range(2)
    ]
    seen = [int(k.communicate(timeout=300)[0]) for k in kernels]
    assert seen == [20_000, 20_000]
    assert open_store(tmp_path).counts()["jobs"] == 20_000
    assert (tmp_path / "journal.jsonl.imported").is_file() and not (tmp_path / "journal.jsonl").exists()


# -- crashes and broken disks -----------------------------------------------------------------------

WRITER = """
import sys
from qamera_widgets.engine.store import open_store
store = open_store(sys.argv[1])
who = sys.argv[2]
for n in range(int(sys.argv[3])):
    store.record_registration({
        "base_url": "https://app.example", "key_id": "key42", "prompt": "p " + who, "count": 1,
        "record_ids": [f"{who}-{n}"], "batch_id": f"b-{who}-{n}", "order_id": "o", "reservation_id": "v",
        "credits_reserved": 10, "idempotency_key": f"idem-{who}-{n}",
        "submitted_at": "2026-03-20T13:00:00+00:00",
    })
    print(n, flush=True)
"""


def test_kill_9_mid_write_loses_at_most_that_write(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), "k", "1000000"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert writer.stdout is not None
    confirmed = -1
    for line in writer.stdout:
        confirmed = int(line)
        if confirmed >= 300:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait(60)

    assert integrity(tmp_path / DB_FILE) == "ok"
    saved = [j.batch_id for j in open_store(tmp_path).jobs()]
    # Every write reported done is there, in order.
    assert saved[: confirmed + 1] == [f"b-k-{n}" for n in range(confirmed + 1)]
    assert len(saved) - (confirmed + 1) <= 2  # the write in flight, and one the pipe had not carried yet


def test_a_full_disk_gives_one_sentence_and_jobs_stay_in_memory(tmp_path: Path) -> None:
    code = """
        import json, resource, signal, sys, warnings
        from qamera_widgets.engine.store import open_store, StoreUnavailableError
        store = open_store(sys.argv[1])
        store.record_registration(json.loads(sys.argv[2]))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        refused = []
        for n in range(1, 3000):
            entry = json.loads(sys.argv[2])
            entry.update(batch_id=f"b-{n}", record_ids=[f"r-{n}"], prompt="x" * 500)
            try:
                store.record_registration(entry)
            except StoreUnavailableError as exc:
                refused.append(exc.strerror)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            jobs = store.jobs()
        print(len(refused), len(set(refused)), len(jobs), len(caught))
        print(refused[0])
        """
    out = run_python(code, str(tmp_path), json.dumps(job(0)))
    assert out.returncode == 0, out.stderr
    counts, sentence = out.stdout.splitlines()[:2]
    refused, distinct, in_memory, warned = map(int, counts.split())
    assert refused > 0 and distinct == 1 and warned == 1
    assert in_memory == 3000  # every job of the session is still listed, saved or not
    assert "full" in sentence and "not being saved" in sentence and "QAMERA_WIDGETS_HOME" in sentence
    assert integrity(tmp_path / DB_FILE) == "ok"
    on_disk = open_store(tmp_path).counts()["jobs"]
    assert 1 <= on_disk == 3000 - refused


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a store with one job, then made read-only: a read-only mount as root (whom
    permissions do not stop), the permission bits otherwise."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip("cannot mount a filesystem to make read-only here")
    store = LocalStore(folder)
    store.record_registration(job(1))
    store.close()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        for path in folder.iterdir():
            path.chmod(0o400)
        folder.chmod(0o500)
    try:
        yield folder
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)], check=False)
        else:
            folder.chmod(0o700)


def test_a_read_only_folder_gives_one_sentence_and_keeps_what_it_held(read_only_folder: Path) -> None:
    store = open_store(read_only_folder)
    with pytest.raises(StoreUnavailableError) as refused:
        store.record_registration(job(2))
    sentence = refused.value.strerror or ""
    assert "read-only" in sentence and "not being saved" in sentence and str(read_only_folder) in sentence
    with pytest.warns(StoreWarning, match="read-only"):
        assert [j.batch_id for j in store.jobs()] == ["b-p-1", "b-p-2"]  # the old job, and the new in memory
    store.set_marks(BASE_URL, "key42", {"s1": ("pick", 3)})  # never raises for the disk
    assert store.marks(BASE_URL, "key42") == {"s1": ("pick", 3)}


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


def test_two_processes_writing_10000_jobs_each_lose_nothing_and_keep_their_order(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), who, "10000"], stdout=subprocess.DEVNULL, env=env
        )
        for who in ("a", "b")
    ]
    assert [w.wait(900) for w in writers] == [0, 0]
    jobs = open_store(tmp_path).jobs()
    assert len(jobs) == 20_000
    for who in ("a", "b"):
        mine = [j.batch_id for j in jobs if j.batch_id.startswith(f"b-{who}-")]
        assert mine == [f"b-{who}-{n}" for n in range(10_000)]
    assert integrity(tmp_path / DB_FILE) == "ok"


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


def test_the_same_question_twice_is_read_once_until_anyone_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path)
    store.record_registration(job(1))
    reads = count_reads(monkeypatch)
    assert store.jobs(base_url=BASE_URL) == store.jobs(base_url=BASE_URL)
    assert len(reads) == 1
    written = run_python(WRITER, str(tmp_path), "other", "1")  # another kernel writes
    assert written.returncode == 0, written.stderr
    assert [j.batch_id for j in store.jobs(base_url=BASE_URL)] == ["b-p-1", "b-other-0"]
    store.record_final(BASE_URL, {"p-1": "DONE"})  # and this one
    assert store.jobs(base_url=BASE_URL)[0].final == {"p-1": "DONE"}
    assert len(reads) == 3


async def test_a_new_studio_reads_the_store_once_for_its_runs_and_its_library(
    make_sandbox: object, closing: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qamera_widgets.engine.jobs.journal import Journal
    from qamera_widgets.widgets.studio import Studio

    from ._widget_support import fast_client

    sandbox = make_sandbox()  # type: ignore[operator]
    client = fast_client(sandbox)
    closing.append(client)
    journal = Journal()
    for n in range(3):
        journal.store.record_registration({**job(n), "base_url": client.base_url, "key_id": client.key_id})
    journal.record_final(client.base_url, {f"p-{n}": "DONE" for n in range(3)})
    reads = count_reads(monkeypatch)
    studio = Studio(client, sandbox=sandbox, refresh_debounce=0.1, account_interval=0.1)
    closing.append(studio)
    await studio.wait_idle(timeout=10)
    await studio.gallery.wait_idle()
    assert len(reads) == 1
    assert len(studio.board.get_state()["runs"]) == 3


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
