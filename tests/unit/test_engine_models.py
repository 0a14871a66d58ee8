"""The pure models the views draw, called directly: no widget, no comm, no server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from qamera_widgets.client import Scenery
from qamera_widgets.contract import DONE, FAILED, MAX_COUNT, MIN_COUNT, PRICE_PER_ITEM, price_for
from qamera_widgets.engine import cards
from qamera_widgets.engine.jobs import plans as jobs
from qamera_widgets.engine.jobs import runs, status
from qamera_widgets.engine.jobs.tracking import TIMED_OUT, WAITING
from qamera_widgets.engine.pictures.imaging import Thumbnail
from qamera_widgets.engine.pictures.versions import PictureSync
from qamera_widgets.engine.wording import pictures, plural

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("server_or_local", "state"),
    [
        ("PENDING", "queued"),
        ("PROCESSING", "processing"),
        (WAITING, "waiting"),
        (TIMED_OUT, "timed_out"),
        (DONE, "done"),
        (FAILED, "failed"),
        ("ERROR", "failed"),
        ("something new", None),
    ],
)
def test_one_status_category_for_server_and_local_states(server_or_local: str, state: str | None) -> None:
    assert status.state_of(server_or_local) == state
    assert set(status.LABELS) == set(status.STATES)


def test_an_unknown_status_is_shown_as_the_server_wrote_it() -> None:
    assert status.card_state("REVIEWING") == ("other", "REVIEWING")


def test_plurals_are_said_in_one_place() -> None:
    assert [pictures(1), pictures(2), plural(1, "run"), plural(3, "earlier run")] == [
        "1 picture",
        "2 pictures",
        "1 run",
        "3 earlier runs",
    ]


def test_run_counts_say_progress_and_credits_at_the_contract_price() -> None:
    counts = runs.count_statuses([DONE, DONE, FAILED, "PROCESSING", TIMED_OUT])
    assert (counts.done, counts.failed, counts.running, counts.timed_out) == (2, 1, 1, 1)
    assert not counts.settled
    assert counts.text() == "2 of 5 done · 1 failed · 1 in progress · 1 no longer watched"
    assert counts.credits_text() == (
        f"{price_for(2)} credits reserved · {2 * PRICE_PER_ITEM} consumed · {PRICE_PER_ITEM} refunded"
    )
    assert runs.RunCounts().credits_text() == "no credits"


def test_a_settled_run_hands_its_finals_to_the_journal_once() -> None:
    run = runs.Run("k", "a kitchen", 2, "b1", NOW, ("a", "b"))
    statuses = {"a": DONE, "b": "PROCESSING"}
    assert runs.settled_finals(run, statuses) == {}, "nothing while a record may still change"
    statuses["b"] = FAILED
    assert runs.settled_finals(run, statuses) == {"a": DONE, "b": FAILED}
    run.journaled.update({"a", "b"})
    assert runs.settled_finals(run, statuses) == {}


def test_a_prepared_run_says_what_it_will_reserve_and_folded_runs_count_their_pictures() -> None:
    prepared = runs.Run("pending-1", "a hall", 3)
    header = runs.run_header(prepared, prepared.counts({}), [])
    assert header["meta"] == "3 pictures · waiting for the server to confirm"
    assert header["credits"] == f"{price_for(3)} credits to reserve"
    older = [runs.Run("k1", "x", 1, "", NOW, ("a",))]
    assert (
        runs.folded_line(older, {"a": DONE})["text"] == f"1 earlier run · 1 picture · {price_for(1)} consumed"
    )


def test_a_comparisons_runs_are_grouped_in_the_order_they_were_sent() -> None:
    first = runs.Run("k1", "oak", 1, "", NOW, ("a",), comparison="c")
    second = runs.Run("k2", "marble", 1, "", NOW, ("b",), comparison="c")
    alone = runs.Run("k3", "tile", 1, "", NOW, ("c",))
    assert runs.grouped(runs.newest_first([first, second, alone])) == [[alone], [first, second]]


def test_job_planning_prices_and_words_a_template() -> None:
    planned = jobs.plan_jobs("{oak|marble} countertop", 2)
    assert [job.preferences for job in planned] == ["oak countertop", "marble countertop"]
    assert len({job.idempotency_key for job in planned}) == 2
    assert jobs.jobs_credits(planned) == price_for(4)
    assert jobs.plan_text(planned) == f"2 prompts × 2 pictures = 4 pictures, {price_for(4)} credits"
    assert jobs.field_errors("", MAX_COUNT + 1).keys() == {"prompt", "count"}
    assert (
        jobs.cost_text(MIN_COUNT - 1) == f"Choose how many pictures to generate ({MIN_COUNT} to {MAX_COUNT})."
    )


def _thumb(data: bytes = b"x") -> Thumbnail:
    return Thumbnail(data=data, format="jpeg", width=4, height=4, source_bytes=len(data))


def test_picture_sync_pushes_only_while_a_view_listens_and_logs_changes_for_the_next_one() -> None:
    now = [0.0]
    sync = PictureSync(clock=lambda: now[0])
    sync.changed("a", {"state": "done"})
    assert sync.take_patch() is None, "nobody listening: nothing is pushed"
    assert sync.catch_up() == [{"id": "a", "state": "done"}], "but a view saying hello gets it"
    sync.heard()
    version = sync.add("a", "http://cdn/a.png", _thumb(b"pic"), push=True)
    sync.changed("a", {"thumb": version})
    patch = sync.take_patch()
    assert patch is not None
    cards_changed, refs, buffers = patch
    assert refs == [{"id": "a", "v": version}] and buffers == [b"pic"]
    assert cards_changed == [], "a card whose picture rides along needs no thumb field"
    assert sync.current("a", "http://cdn/other.png") is None, "a new URL is a new picture"
    now[0] += 61
    sync.changed("a", {"vote": "approved"})
    assert not sync.pending(), "a minute of silence stops the pushes"


def test_a_card_says_its_state_and_carries_its_picture_version_only_once_done() -> None:
    scenery = Scenery(id="a", name="n", thumbnail="u", status="PROCESSING", voting=None, created_at=NOW)
    drawn = cards.card(scenery, "a prompt", 7, status=None, since=NOW, run="k")
    assert (drawn["state"], drawn["label"], drawn["thumb"]) == ("processing", "Processing", 0)
    assert cards.card(scenery, "", 7, status=DONE, since=None, run="")["thumb"] == 7
    assert cards.placeholder_kind(scenery) == "rendering"
