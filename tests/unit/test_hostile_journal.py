"""The journal against hostile lines and unusable paths (real files and folders): bad lines are skipped with
one warning, a path that cannot be used gets a sentence saying what to fix, and incremental reading never
serves a stale answer."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from qamera_widgets.client.models import Registration
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.store import StoreUnavailableError, StoreWarning
from tests.helpers.records import make_registration

BASE_URL = "https://app.example"


def registration(ids: tuple[str, ...], batch_id: str) -> Registration:
    return make_registration(ids, batch_id)


def test_deep_nesting_and_huge_numbers_are_skipped_with_one_warning_across_reads(tmp_path: Path) -> None:
    # Adapted: such lines can only come from an old journal.jsonl now; the store imports around them.
    scratch = Journal(tmp_path / "scratch" / "journal.jsonl")
    scratch.record_registration(registration(("a1",), "A"), base_url=BASE_URL, key_id="k")
    good = (
        b'{"type":"registration","base_url":"https://app.example","key_id":"k","prompt":"oak","count":1,'
        b'"record_ids":["a1"],"batch_id":"A","order_id":"o","reservation_id":"v","credits_reserved":10,'
        b'"idempotency_key":"idem-A","submitted_at":"2026-03-20T13:00:00+00:00"}'
    )
    path = tmp_path / "journal.jsonl"
    with open(path, "wb") as handle:
        handle.write(good + b"\n")
        handle.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
        handle.write(good.replace(b'"credits_reserved":10', b'"credits_reserved":1e999') + b"\n")
        handle.write(good.replace(b'"count":1', b'"count":1e999') + b"\n")
        handle.write(good.replace(b'"A"', b'"B"').replace(b"a1", b"b1").replace(b"idem-A", b"idem-B") + b"\n")
    journal = Journal(path)

    with pytest.warns(StoreWarning) as caught:
        assert [b.batch_id for b in journal.pending()] == ["A", "B"]
    # Only the journal's own warnings count: a socket the garbage collector closes meanwhile warns too.
    ours = [w for w in caught if issubclass(w.category, StoreWarning)]
    assert len(ours) == 1 and "lines 2, 3, 4" in str(ours[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [b.batch_id for b in journal.batches()] == ["A", "B"]
        assert journal.unconfirmed() == []
        assert [b.batch_id for b in Journal(journal.path).pending()] == ["A", "B"]


def test_a_read_after_another_journal_wrote_sees_the_store_as_it_is(tmp_path: Path) -> None:
    # Adapted: the rewrite half was about the JSON-lines file's incremental reading, which is gone.
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_registration(registration(("a1",), "A"), base_url=BASE_URL, key_id="k")
    assert [b.batch_id for b in journal.pending()] == ["A"]
    Journal(journal.path).record_final(BASE_URL, {"a1": "DONE"})
    journal.record_registration(registration(("b1",), "B"), base_url=BASE_URL, key_id="k")
    assert [b.batch_id for b in journal.pending()] == ["B"]


def test_a_home_that_is_a_file_gets_a_sentence_for_writing_and_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("not a folder")
    monkeypatch.setenv("QAMERA_WIDGETS_HOME", str(home))
    journal = Journal()
    with pytest.raises(StoreUnavailableError) as refused:
        journal.record_registration(registration(("a1",), "A"), base_url=BASE_URL, key_id="k")
    assert isinstance(refused.value, OSError)
    sentence = refused.value.strerror or ""
    assert str(home) in sentence and "QAMERA_WIDGETS_HOME" in sentence and "is a file" in sentence
    assert "not being saved" in sentence
    with pytest.warns(StoreWarning, match="QAMERA_WIDGETS_HOME") as caught:
        # Changed: the job is still tracked in memory for this session (the sentence says it is not saved).
        assert [b.batch_id for b in journal.pending()] == ["A"]
        assert journal.unconfirmed() == []
    assert len([w for w in caught if issubclass(w.category, StoreWarning)]) == 1


def test_a_journal_path_that_is_a_folder_gets_a_sentence(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.store_path.mkdir()  # adapted: the file written is the store now
    with pytest.raises(StoreUnavailableError, match="is a folder, not a file"):
        journal.record_final(BASE_URL, {"a1": "DONE"})
    with pytest.warns(StoreWarning, match="is a folder, not a file"):
        assert journal.batches() == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes whatever the permissions say")
def test_an_unwritable_home_gets_a_sentence(tmp_path: Path) -> None:
    home = tmp_path / "locked"
    home.mkdir()
    home.chmod(0o500)
    try:
        with pytest.raises(StoreUnavailableError, match="permission denied"):
            Journal(home / "journal.jsonl").record_final(BASE_URL, {"a1": "DONE"})
    finally:
        home.chmod(0o700)
