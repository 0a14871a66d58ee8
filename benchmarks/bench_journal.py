"""How long `Journal.pending()` takes on a journal of 100,000 entries, as a board's `resume()` calls it.

Since the local store (issue 19) the first read is the old journal's import into the store's SQLite file,
then a query; `bench_store.py` compares the store with the old journal itself.

Run: ``.venv/bin/python -m benchmarks.bench_journal`` (a few seconds; a temporary file only).

The journal holds 50,000 registrations and 50,000 final lines; one batch in ten is left unfinished. Figures,
each the median of 3 runs (a new file each time, so every first read starts from nothing):
- first read: `pending()` on a journal this process has not read yet;
- next reads: `pending()` again, and after one more line was appended (what resume, the unconfirmed banner
  and every later check cost);
- baseline: `json.loads` of every line, the least any full re-read must do, measured in the same run.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from qamera_widgets.engine.jobs.journal import Journal

REGISTRATIONS = 50_000


def journal_entries(jobs: int) -> Iterator[dict[str, object]]:
    """The lines of an old `journal.jsonl`: `jobs` registrations of two pictures, each followed by its
    final statuses (one in ten with a picture still open). `bench_store` reads the same journal."""
    stamp = datetime(2026, 3, 20, 13, 0, tzinfo=timezone.utc).isoformat()
    for i in range(jobs):
        ids = [f"r{i}a", f"r{i}b"]
        yield {
            "type": "registration",
            "base_url": "https://app.example",
            "key_id": "key42",
            "prompt": f"white oak floor, soft light, variant {i}",
            "count": 2,
            "record_ids": ids,
            "batch_id": f"b{i}",
            "order_id": f"o{i}",
            "reservation_id": f"v{i}",
            "credits_reserved": 20,
            "idempotency_key": f"idem-{i}",
            "submitted_at": stamp,
        }
        statuses = {ids[0]: "DONE"} if i % 10 == 0 else {ids[0]: "DONE", ids[1]: "FAILED"}
        yield {"type": "final", "base_url": "https://app.example", "statuses": statuses, "recorded_at": stamp}


def write_journal(path: Path, jobs: int = REGISTRATIONS) -> None:
    with open(path, "w") as out:
        for entry in journal_entries(jobs):
            out.write(json.dumps(entry, separators=(",", ":")) + "\n")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def parse_every_line(path: Path) -> list[object]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def main() -> None:
    figures: dict[str, list[float]] = {"baseline": [], "first": [], "again": [], "after_append": []}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(3):
            path = Path(folder) / f"run-{run}" / "journal.jsonl"  # a store folder each: a first read each
            path.parent.mkdir()
            write_journal(path)
            figures["baseline"].append(timed(partial(parse_every_line, path)))
            journal = Journal(path)
            figures["first"].append(timed(journal.pending))
            figures["again"].append(timed(journal.pending))
            journal.record_final("https://app.example", {"r0b": "DONE"})
            figures["after_append"].append(timed(journal.pending))
            pending = len(journal.pending())
    ms = {name: statistics.median(values) * 1000 for name, values in figures.items()}
    print(f"journal of {2 * REGISTRATIONS} entries, {pending} batches pending; median of 3 runs")
    print(f"  baseline, json.loads of every line:   {ms['baseline']:8.1f} ms")
    print(
        f"  pending(), first read:                {ms['first']:8.1f} ms "
        f"({ms['first'] / ms['baseline']:.2f}x the baseline)"
    )
    print(
        f"  pending(), read again:                {ms['again']:8.1f} ms ({ms['again'] / ms['baseline']:.2f}x)"
    )
    print(
        f"  pending(), after one appended line:   {ms['after_append']:8.1f} ms "
        f"({ms['after_append'] / ms['baseline']:.2f}x)"
    )


if __name__ == "__main__":
    main()
