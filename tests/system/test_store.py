"""The store across processes: two kernels, kill -9 mid-write, a full disk, a read-only folder, concurrent
writers."""

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

import pytest

from qamera_widgets.engine.store import (
    DB_FILE,
    LocalStore,
    StoreUnavailableError,
    StoreWarning,
    open_store,
)
from tests.helpers.child import run_python
from tests.unit.test_store import BASE_URL, count_reads, job, old_line

ROOT = Path(__file__).resolve().parents[2]


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
    # What the writer reported before it died and this (slower, on a loaded machine) reader had not read yet.
    for line in writer.stdout:
        confirmed = int(line)

    assert integrity(tmp_path / DB_FILE) == "ok"
    saved = [j.batch_id for j in open_store(tmp_path).jobs()]
    # Every write reported done is there, in order.
    assert saved[: confirmed + 1] == [f"b-k-{n}" for n in range(confirmed + 1)]
    assert len(saved) - (confirmed + 1) <= 1  # at most the write in flight, done but not yet reported


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


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
