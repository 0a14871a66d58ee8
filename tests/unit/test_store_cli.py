"""`qamera-widgets store`: where the store is, what it holds, --prune-cache and --export, on real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from qamera_widgets.cli import main
from qamera_widgets.engine.pictures.disk_cache import picture_cache
from qamera_widgets.engine.store import open_store
from tests.unit.test_store import BASE_URL, job


def test_store_command_reports_counts_prunes_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(tmp_path)
    store.record_registration(job(1))
    store.record_registration({**job(2), "prompt": '=HYPERLINK("http://x")'})
    store.record_final(BASE_URL, {"p-1": "DONE"})
    store.set_marks(BASE_URL, "key42", {"s1": ("pick", 4)})
    pictures = picture_cache(tmp_path / "pictures")
    pictures.put("jpeg", "https://cdn.test/a.jpg", 176, b"\xff\xd8 not checked here", "jpeg", 176, 176)

    target = tmp_path / "jobs.csv"
    assert main(["store", "--home", str(tmp_path), "--export", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"Store: {tmp_path / 'store.sqlite3'}" in out
    assert "Jobs: 2 (2 pictures asked for, 1 finished, 0 unconfirmed)" in out
    assert "Marks: 1" in out and "(1 pictures" in out and "Wrote 2 jobs" in out
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["batch_id"] for r in rows] == ["b-p-1", "b-p-2"]
    assert rows[0]["statuses"] == "p-1=DONE" and rows[1]["prompt"].startswith("'=")  # never a formula

    assert main(["store", "--home", str(tmp_path), "--prune-cache"]) == 0
    out = capsys.readouterr().out
    assert "Dropped 1 cached pictures" in out and "(0 pictures" in out


def test_an_export_that_cannot_be_written_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "--home", str(tmp_path), "--export", str(tmp_path / "no" / "such" / "x.csv")]) == 1
    assert "Choose another file" in capsys.readouterr().err
