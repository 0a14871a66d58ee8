"""The person's data folder as a whole, as `qamera-widgets store` says it: where the store and the picture
cache are, how big, what they hold; the jobs as CSV. Above both (the store is SQLite only, the cache is
pictures), and apart from the CLI's argument parsing so a test reads the figures without a subprocess."""

from __future__ import annotations

import csv
import os
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from .pictures.disk_cache import PictureCache, picture_cache
from .store import LocalStore

__all__ = ["describe", "export_jobs"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _size_of(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with suppress(OSError):
            total += path.stat().st_size
    return total


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def describe(store: LocalStore, pictures: PictureCache | None = None) -> list[str]:
    """The lines the command prints (location, sizes, counts, and the store's sentence if it is unsaved)."""
    cache = pictures if pictures is not None else picture_cache(store.folder / "pictures")
    counts = store.counts()
    files = [
        store.path,
        store.path.with_name(store.path.name + "-wal"),
        store.path.with_name(store.path.name + "-shm"),
    ]
    figures = cache.stats()
    lines = [
        f"Store: {store.path} ({_mb(_size_of(files))})",
        f"Jobs: {counts['jobs']} ({counts['records']} pictures asked for, {counts['finals']} finished, "
        f"{counts['unconfirmed']} unconfirmed)",
        f"Marks: {counts['marks']}",
        f"Picture cache: {cache.folder} ({figures['entries']} pictures, {_mb(figures['bytes'])} of "
        f"{_mb(cache.limit_bytes)}; delete the folder at any time to free it)",
    ]
    if store.problem:
        lines.append(store.problem)
    return lines


def _cell(value: object) -> str:
    """A spreadsheet must not run a prompt as a formula: such a cell starts with a quote."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_jobs(store: LocalStore, out: TextIO) -> int:
    """Every job as one CSV row, oldest first; returns how many rows were written."""
    writer = csv.writer(out)
    writer.writerow(
        [
            "submitted_at",
            "base_url",
            "key_id",
            "batch_id",
            "order_id",
            "reservation_id",
            "prompt",
            "count",
            "credits_reserved",
            "record_ids",
            "finished",
            "statuses",
            "comparison",
        ]
    )
    jobs = store.jobs()
    for job in jobs:
        writer.writerow(
            [
                job.submitted_at.isoformat(),
                _cell(job.base_url),
                _cell(job.key_id or ""),
                _cell(job.batch_id),
                _cell(job.order_id),
                _cell(job.reservation_id),
                _cell(job.prompt),
                job.count,
                job.credits_reserved,
                _cell(" ".join(job.record_ids)),
                len(job.final),
                _cell(" ".join(f"{i}={s}" for i, s in job.final.items())),
                _cell(job.comparison),
            ]
        )
    return len(jobs)


def default_export_name(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / "jobs.csv"
