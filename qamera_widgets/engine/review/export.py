"""What a review leaves behind: one row per picture (what it is, where it came from, what was decided),
written as CSV or JSON, and a zip of the originals with that CSV beside them.

Pure except `export_review`, which writes the one file it is given, and `collect_originals`, which
only calls the fetch function it is handed: the views do the downloading, this module decides.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import zipfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, TypedDict

from ...client.models import Scenery
from ...contract import DONE
from ..jobs.status import vote_state
from .book import NO_MARK, Mark

__all__ = [
    "FORMULA_PREFIXES",
    "MAX_ZIP_BYTES",
    "REVIEW_COLUMNS",
    "REVIEW_CSV_NAME",
    "Origin",
    "ReviewRow",
    "RunLike",
    "collect_originals",
    "csv_safe",
    "export_review",
    "origins_of",
    "picture_file_name",
    "review_csv",
    "review_json",
    "review_rows",
    "review_zip",
    "service_vote",
]

MAX_ZIP_BYTES = 200 * 2**20
"""A download of originals stops here rather than filling the kernel's memory (the canvas's cap)."""
REVIEW_CSV_NAME = "review.csv"
REVIEW_COLUMNS = (
    "id",
    "name",
    "prompt",
    "run",
    "template",
    "varying",
    "flag",
    "stars",
    "status",
    "vote",
    "created",
    "thumbnail",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's list): such cells get a leading quote."""
VARYING_SEPARATOR = " | "
"""Between a comparison's varying words; never inside one, since `|` separates alternatives."""
_NAME_LIMIT = 60
_EXTENSIONS = {"jpeg": "jpg", "jpg": "jpg", "png": "png", "webp": "webp", "gif": "gif"}


class ReviewRow(TypedDict):
    """One picture in a review export (the CSV's columns, in `REVIEW_COLUMNS` order)."""

    id: str
    name: str
    prompt: str
    run: str
    """The batch id of the submission that made it ('' when unknown)."""
    template: str
    """The comparison's template ('{oak|marble} countertop'), '' for a picture of a plain prompt."""
    varying: str
    """The words this picture's prompt took from the template, joined by ' | '."""
    flag: str
    stars: int
    status: str
    """The generation status as the service wrote it (DONE, FAILED, ...)."""
    vote: str
    """The service's review: approved, rejected or not reviewed."""
    created: str
    """ISO 8601 in UTC, '' when the service gave no time."""
    thumbnail: str


@dataclass(frozen=True)
class Origin:
    """Where a picture came from: its run (one submission) and, for a comparison, its template and the
    words this run's prompt took from it."""

    prompt: str = ""
    batch_id: str = ""
    template: str = ""
    varying: tuple[str, ...] = ()


class RunLike(Protocol):
    """What a run says about its pictures: a board's `Run` and a `JobRecord` both do."""

    @property
    def prompt(self) -> str: ...
    @property
    def batch_id(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def parts(self) -> tuple[tuple[str, bool], ...]: ...
    @property
    def record_ids(self) -> tuple[str, ...]: ...


def origins_of(runs: Iterable[RunLike]) -> dict[str, Origin]:
    """Each record id of these runs -> its `Origin`; a record in two runs keeps the first one given."""
    found: dict[str, Origin] = {}
    for run in runs:
        origin = Origin(
            prompt=run.prompt,
            batch_id=run.batch_id,
            template=run.template,
            varying=tuple(text for text, varies in run.parts if varies) if run.template else (),
        )
        for record_id in run.record_ids:
            found.setdefault(record_id, origin)
    return found


def service_vote(voting: str | None) -> str:
    """The service's review in words: approved, rejected, or not reviewed (which includes PENDING)."""
    state = vote_state(voting)
    return "not reviewed" if state == "none" else state


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def review_rows(
    sceneries: Iterable[Scenery],
    marks: Mapping[str, Mark],
    *,
    origins: Mapping[str, Origin] | None = None,
    prompts: Mapping[str, str] | None = None,
    statuses: Mapping[str, str] | None = None,
) -> list[ReviewRow]:
    """One row per scenery, in the order given (a scenery given twice: its first place).

    `origins` (from `origins_of(runs)`) supply run, prompt and template; `prompts` the prompt of
    pictures known only from the journal's prompt index; `statuses` a view's own newer status (a
    board's live one) over the scenery's.
    """
    origins, prompts, statuses = origins or {}, prompts or {}, statuses or {}
    rows: list[ReviewRow] = []
    seen: set[str] = set()
    for scenery in sceneries:
        if scenery.id in seen:
            continue
        seen.add(scenery.id)
        origin = origins.get(scenery.id, Origin())
        mark = marks.get(scenery.id, NO_MARK)
        rows.append(
            ReviewRow(
                id=scenery.id,
                name=scenery.name,
                prompt=origin.prompt or prompts.get(scenery.id, ""),
                run=origin.batch_id,
                template=origin.template,
                varying=VARYING_SEPARATOR.join(origin.varying),
                flag=mark.flag,
                stars=mark.stars,
                status=statuses.get(scenery.id, scenery.status),
                vote=service_vote(scenery.voting),
                created=_iso(scenery.created_at),
                thumbnail=scenery.thumbnail or "",
            )
        )
    return rows


def csv_safe(value: object) -> str | int:
    """A cell a spreadsheet shows as text: numbers stay numbers; text that would start a formula gets a
    leading apostrophe (which spreadsheets hide), so a prompt like '=HYPERLINK(...)' cannot run."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def review_csv(rows: Sequence[Mapping[str, object]], *, columns: Sequence[str] = REVIEW_COLUMNS) -> str:
    """The rows as CSV text (a header, then one line per row), every cell made `csv_safe`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(row.get(column, "")) for column in columns])
    return out.getvalue()


def review_json(rows: Sequence[Mapping[str, object]]) -> str:
    """The rows as a JSON list of objects, as written (JSON is data, not a spreadsheet: no quoting)."""
    return json.dumps([dict(row) for row in rows], ensure_ascii=False, indent=2) + "\n"


def export_review(path: str | os.PathLike[str], rows: Sequence[Mapping[str, object]]) -> Path:
    """Write the rows to `path` as UTF-8 CSV or JSON, chosen by its suffix; returns the path.

    The file appears whole or not at all (written beside it, then renamed), so a spreadsheet that has
    the previous export open never sees half a file.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        text = review_csv(rows)
    elif suffix == ".json":
        text = review_json(rows)
    else:
        raise ValueError(f"Use a .csv or .json file name for a review export, not {target.name!r}.")
    if target.is_dir():
        raise ValueError(
            f"{str(target)!r} is a folder: give a file name such as {str(target / 'review.csv')!r}."
        )
    if not target.parent.is_dir():
        raise ValueError(
            f"The folder {str(target.parent)!r} does not exist: create it first or choose another."
        )
    # Opened like any new file (not mkstemp's owner-only mode), so the export is as shareable as others.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with open(temporary, "x", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def _safe_part(text: str, limit: int) -> str:
    kept = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text.casefold())
    return "-".join(part for part in kept.split("-") if part)[:limit].strip("-")


def picture_file_name(row: Mapping[str, object], fmt: str) -> str:
    """The zip's name for a row's picture: its prompt (or name) in a few safe words, then its id, so a
    file name leads to its row (the CSV's `id`, and its `file` column) and sorts by prompt.

    Only ASCII letters, digits and '-' besides the extension: safe on every file system and unzip tool.
    """
    caption = _safe_part(str(row.get("prompt") or row.get("name") or ""), _NAME_LIMIT) or "scenery"
    ident = _safe_part(str(row.get("id", "")), _NAME_LIMIT) or "no-id"
    return f"{caption}-{ident}.{_EXTENSIONS.get(fmt.lower(), 'img')}"


def _too_big(limit: int) -> ValueError:
    return ValueError(f"The originals add up to more than {limit // 2**20} MB: select fewer pictures.")


Fetch = Callable[[str], Awaitable[tuple[bytes, str] | None]]


async def collect_originals(
    rows: Sequence[Mapping[str, object]], fetch: Fetch, *, max_bytes: int = MAX_ZIP_BYTES
) -> tuple[dict[str, tuple[bytes, str]], list[str]]:
    """Fetch each finished row's original through `fetch(thumbnail_url)` (-> (bytes, format) or None),
    one after the other, stopping with a sentence as soon as they pass `max_bytes` rather than after
    holding them all. Returns the pictures by id and the ids that had none to fetch."""
    pictures: dict[str, tuple[bytes, str]] = {}
    skipped: list[str] = []
    total = 0
    for row in rows:
        scenery_id, url = str(row.get("id", "")), str(row.get("thumbnail") or "")
        if scenery_id in pictures:
            continue
        if row.get("status") != DONE or not url:
            skipped.append(scenery_id)
            continue
        original = await fetch(url)
        if original is None:
            skipped.append(scenery_id)
            continue
        total += len(original[0])
        if total > max_bytes:
            raise _too_big(max_bytes)
        pictures[scenery_id] = original
    return pictures, skipped


def review_zip(
    rows: Sequence[Mapping[str, object]],
    pictures: Mapping[str, tuple[bytes, str]],
    *,
    max_bytes: int = MAX_ZIP_BYTES,
) -> bytes:
    """A zip of the pictures (by row id: (bytes, format)) named by `picture_file_name`, with
    `review.csv` beside them: every row, plus a `file` column naming its picture ('' when it has none).
    """
    if sum(len(data) for data, _ in pictures.values()) > max_bytes:
        raise _too_big(max_bytes)
    if not any(str(row.get("id", "")) in pictures for row in rows):
        raise ValueError("None of these pictures is finished, so there is nothing to put in a zip.")
    used: set[str] = {REVIEW_CSV_NAME}
    files: list[tuple[str, bytes]] = []
    listed: list[dict[str, object]] = []
    for row in rows:
        picture = pictures.get(str(row.get("id", "")))
        name = ""
        if picture is not None:
            name = picture_file_name(row, picture[1])
            stem, dot, ext = name.rpartition(".")
            counter = 2
            while name in used:  # two ids that differ only in characters a file name cannot hold
                name = f"{stem}-{counter}{dot}{ext}"
                counter += 1
            used.add(name)
            files.append((name, picture[0]))
        listed.append({**row, "file": name})
    out = io.BytesIO()
    # Pictures are already compressed: storing them is as small and much faster; the CSV is text.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        table = review_csv(listed, columns=(*REVIEW_COLUMNS, "file"))
        archive.writestr(REVIEW_CSV_NAME, table.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        for name, data in files:
            archive.writestr(name, data)
    return out.getvalue()
