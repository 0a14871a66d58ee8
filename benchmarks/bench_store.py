"""The local store against the JSON-lines journal it replaced, on the same entries, in the same run.

Run: ``.venv/bin/python benchmarks/bench_store.py [--writes 10000]`` (a few minutes: the writes are
fsynced; temporary folders only). Needs the git history: the old journal is read from commit `BASELINE`.

Figures:
- start: what a new Studio spends in the store before its runs and library can show (the studio's history
  read and the library's prompt read, both of one server and key), in a fresh process each time, over a
  history of 200,000 jobs (one in ten unfinished); against the old journal's first read of the same
  entries (its second read was incremental);
- import: moving that 200,000-job journal into the store (once per folder, at the first start);
- writes: two processes each saving `--writes` jobs at once (each write durable before the next), total
  wall time, against the old journal doing the same; every job is checked to be there, in order per
  process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.bench_journal import write_journal
from tests.helpers.child import run_python

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "8ce8a26"
"""The last commit with the JSON-lines journal."""
JOBS = 200_000


def old_journal_module(folder: Path) -> Path:
    """The old journal as an importable module `old_journal` in `folder`."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BASELINE}:qamera_widgets/engine/jobs/journal.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    source = source.replace("from ..", "from qamera_widgets.").replace(
        "from .registry", "from qamera_widgets.runtime.registry"
    )
    (folder / "old_journal.py").write_text(source)
    return folder


def in_child(code: str, *args: str, extra_path: Path | None = None) -> str:
    done = run_python(code, *args, timeout=3600, path=[extra_path] if extra_path else [])
    done.check_returncode()
    return done.stdout.strip()


START_OLD = """
    import sys, time
    from old_journal import Journal
    journal = Journal(sys.argv[1])
    started = time.perf_counter()
    studio = journal.batches(base_url="https://app.example", key_id="key42")
    library = journal.batches(base_url="https://app.example", key_id="key42")
    print(time.perf_counter() - started, len(studio))
"""

START_NEW = """
    import sys, time
    from qamera_widgets.engine.jobs.journal import HISTORY_JOBS, Journal
    started = time.perf_counter()
    journal = Journal(sys.argv[1])
    studio = journal.batches(base_url="https://app.example", key_id="key42", latest=HISTORY_JOBS)
    library = journal.batches(base_url="https://app.example", key_id="key42", latest=HISTORY_JOBS)
    middle = time.perf_counter()
    pending = journal.pending(base_url="https://app.example", key_id="key42")
    print(middle - started, len(studio), time.perf_counter() - middle, len(pending))
"""

IMPORT = """
    import sys, time, warnings
    from qamera_widgets.engine.store import LocalStore
    started = time.perf_counter()
    store = LocalStore(sys.argv[1])
    store.import_journal(sys.argv[2])
    print(time.perf_counter() - started, store.counts()["jobs"])
"""

WRITER = """
    import sys, time
    from datetime import datetime, timezone
    from qamera_widgets.client.models import Registration
    kind, where, who, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if kind == "old":
        from old_journal import Journal
    else:
        from qamera_widgets.engine.jobs.journal import Journal
    journal = Journal(where)
    stamp = datetime(2026, 3, 20, 13, 0, tzinfo=timezone.utc)
    started = time.perf_counter()
    for i in range(n):
        journal.record_registration(
            Registration(record_ids=(f"{who}-{i}",), batch_id=f"{who}-{i}", order_id="o", reservation_id="v",
                         credits_reserved=10, correlation_id=None, idempotency_key=f"idem-{who}-{i}",
                         preferences="oak", count=1, submitted_at=stamp),
            base_url="https://app.example", key_id="key42")
    print(time.perf_counter() - started)
"""

CHECK = """
    import sys
    kind, where, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "old":
        from old_journal import Journal
    else:
        from qamera_widgets.engine.jobs.journal import Journal
    ids = [b.batch_id for b in Journal(where).batches()]
    ok = len(ids) == 2 * n and all(
        [i for i in ids if i.startswith(w + "-")] == [f"{w}-{k}" for k in range(n)] for w in "ab"
    )
    print(len(ids), ok)
"""


def two_writers(kind: str, where: Path, writes: int, old: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(old)])}
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), kind, str(where), who, str(writes)],
            env=env,
            stdout=subprocess.PIPE,
        )
        for who in "ab"
    ]
    for proc in procs:
        proc.communicate()
    wall = time.perf_counter() - started
    return wall, in_child(CHECK, kind, str(where), str(writes), extra_path=old)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=JOBS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        old = old_journal_module(base)
        source = base / "history.jsonl"
        write_journal(source, args.jobs)
        legacy = base / "legacy" / "journal.jsonl"
        legacy.parent.mkdir()
        legacy.write_bytes(source.read_bytes())

        old_s, shown = map(float, in_child(START_OLD, str(legacy), extra_path=old).split())
        store_folder = base / "store"
        took, jobs = map(float, in_child(IMPORT, str(store_folder), str(source)).split())
        new = [float(x) for x in in_child(START_NEW, str(store_folder / "journal.jsonl")).split()]
        print(f"history of {int(jobs)} jobs ({2 * args.jobs} journal lines)")
        print(f"  import of the old journal into the store:     {took * 1000:9.1f} ms (once per folder)")
        print(f"  new Studio start, old journal (first read):   {old_s * 1000:9.1f} ms ({int(shown)} runs)")
        print(
            f"  new Studio start, store (latest {int(new[1])}):       {new[0] * 1000:9.1f} ms "
            f"({new[0] / old_s:.3f}x the journal)"
        )
        print(
            f"  pending() over the store:                      {new[2] * 1000:9.1f} ms ({int(new[3])} jobs)"
        )

        for kind in ("new", "old"):
            where = base / f"writes-{kind}" / "journal.jsonl"
            where.parent.mkdir()
            wall, check = two_writers(kind, where, args.writes, old)
            name = "store" if kind == "new" else "old journal"
            print(
                f"  two processes x {args.writes} writes, {name:11s}: {wall:7.1f} s wall, "
                f"{2 * args.writes / wall:7.0f} writes/s; all there in order: {check}"
            )


if __name__ == "__main__":
    main()
