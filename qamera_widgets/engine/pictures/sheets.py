"""What leaves the kernel as a file: the contact sheet (one image of tiles with captions) and the zip of
originals. Pure or thread-safe functions, no traitlets: the canvas gathers the pictures and calls these.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from ...client.models import Scenery
from ...contract import MAX_PREFERENCES_CHARS
from ...runtime.loops import PerLoop
from ..wording import pictures, plural
from .imaging import Thumbnail, load_font

__all__ = [
    "CONTACT_SHEET_LABEL_PX",
    "CONTACT_SHEET_MARGIN",
    "MAX_SHEET_PIXELS",
    "MAX_SHEET_TILES",
    "MAX_ZIP_BYTES",
    "NOTHING_SELECTED",
    "NOTHING_SHOWN",
    "SHEET_COLUMNS",
    "SHEET_WIDTH_PX",
    "SheetTile",
    "check_sheet_size",
    "contact_sheet",
    "make_download",
    "mark_of",
    "png_bytes",
    "save_sheet",
    "sheet_bytes",
    "sheet_grid",
    "wrap_text",
    "zip_bytes",
    "zip_originals",
]

MAX_ZIP_BYTES = 200 * 2**20
"""A browser download of the selection's originals stops here rather than filling the kernel's memory."""
SHEET_DPI = 200
SHEET_WIDTH_PX = 2400
"""A4 landscape at 200 dpi is 2339 px wide: a printed sheet stays sharp."""
SHEET_MARGIN_PX = 40
SHEET_GAP_PX = 32
TITLE_FONT_PX, INFO_FONT_PX, CAPTION_FONT_PX = 56, 32, 26
MAX_SHEET_TILES = 48
"""The most pictures on one sheet: more would be too small to judge once printed."""
MAX_SHEET_PIXELS = 48_000_000
"""About 140 MB as RGB while drawing: the most one sheet may cost, however long the prompts."""
MAX_CAPTION_CHARS = MAX_PREFERENCES_CHARS
"""A caption is bounded to the API's prompt limit before anything is measured."""
CAPTION_MAX_LINES = 40
CONTACT_SHEET_MARGIN = SHEET_MARGIN_PX
CONTACT_SHEET_LABEL_PX = CAPTION_FONT_PX + 8
"""Height of one caption line under a tile (kept under its old name for imports)."""
SHEET_COLUMNS = 4
NOTHING_SELECTED = (
    "No sceneries are selected: tick some cards first "
    "(or call contact_sheet(selected_only=False) for everything shown)."
)
NOTHING_SHOWN = "There are no sceneries to put on a contact sheet."
_SHEET_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".pdf": "PDF"}


def save_sheet(make: Callable[[], Image.Image], path: str | Path) -> Path:
    """Write the sheet `make()` draws as PNG, JPEG, WebP or PDF, chosen by the file extension (checked
    first, so a wrong name costs no drawing)."""
    target = Path(path)
    fmt = _SHEET_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"Use a .png, .jpg, .jpeg, .webp or .pdf file name, not {target.name!r}.")
    sheet = make()
    if fmt == "JPEG":
        sheet.save(target, fmt, quality=90)
    elif fmt == "PDF":
        sheet.save(target, fmt, resolution=SHEET_DPI)
    else:
        sheet.save(target, fmt)
    return target


async def zip_originals(
    chosen: Sequence[Scenery],
    caption: Callable[[Scenery], str],
    original: Callable[[str], Awaitable[tuple[bytes, str] | None]],
) -> tuple[list[tuple[str, bytes]], int]:
    """The files of a zip of the finished pictures' originals, and how many were left out.

    `original(url)` fetches one (the loader's); the total is capped at MAX_ZIP_BYTES.
    """
    files: list[tuple[str, bytes]] = []
    total = skipped = 0
    for index, scenery in enumerate(chosen, start=1):
        if not scenery.is_done or not scenery.thumbnail:
            skipped += 1
            continue
        fetched = await original(scenery.thumbnail)
        if fetched is None:
            skipped += 1
            continue
        data, fmt = fetched
        total += len(data)
        if total > MAX_ZIP_BYTES:
            raise ValueError(
                f"the originals add up to more than {MAX_ZIP_BYTES // 2**20} MB: select fewer pictures"
            )
        files.append((f"{index:03d}-{_safe_name(caption(scenery))}.{_extension(fmt)}", data))
    if not files:
        raise ValueError("none of the selected pictures is finished, so there is nothing to download")
    return files, skipped


MAX_DOWNLOADS_AT_ONCE = 2
"""Sheets and zips being made at once in this process, across every canvas: each holds its files."""
_download_slots: PerLoop[asyncio.Semaphore] = PerLoop(
    lambda: asyncio.Semaphore(MAX_DOWNLOADS_AT_ONCE), close=lambda _s: asyncio.sleep(0)
)


def download_slot() -> asyncio.Semaphore:
    """`async with download_slot():` around making a download, so a class of pages clicking "zip" at once
    queues instead of holding every selection's originals together."""
    return _download_slots.get()


async def make_download(
    what: str,
    chosen: Sequence[Scenery],
    *,
    sheet: Callable[[], tuple[Sequence[SheetTile], str]],
    wait_pictures: Callable[[], Awaitable[None]],
    caption: Callable[[Scenery], str],
    original: Callable[[str], Awaitable[tuple[bytes, str] | None]],
    say: Callable[[str], None],
    zipped: Callable[[Sequence[Scenery]], Awaitable[tuple[bytes, int]]] | None = None,
) -> tuple[str, str, bytes]:
    """(file name, MIME type, bytes) of a download: "sheet" (PNG), "pdf" or "zip" of originals. Made in
    one of the process's `download_slot`s, drawn and zipped in a thread, never on the loop. `zipped`, when
    given, makes the zip instead (the review's: originals with review.csv) and says how many it left out."""
    async with download_slot():
        if what in ("sheet", "pdf"):
            say("Making the contact sheet…")
            await wait_pictures()
            tiles, title = sheet()  # gathered on the loop: cheap; the drawing goes to a thread
            fmt = "pdf" if what == "pdf" else "png"
            data = await asyncio.to_thread(sheet_file, tiles, title, fmt)
            return f"contact-sheet.{fmt}", "application/pdf" if fmt == "pdf" else "image/png", data
        say(f"Fetching {plural(len(chosen), 'original')}…")
        if zipped is not None:
            data, skipped = await zipped(chosen)
        else:
            files, left_out = await zip_originals(chosen, caption, original)
            data, skipped = await asyncio.to_thread(zip_bytes, files), left_out
        if skipped:
            say(f"{pictures(skipped)} had no original to download and were left out.")
        return "sceneries.zip", "application/zip", data


def sheet_file(tiles: Sequence[SheetTile], title: str, fmt: str = "png") -> bytes:
    """The sheet of `tiles` drawn and encoded in one call, for a thread: nothing of it runs on the loop."""
    return sheet_bytes(contact_sheet(tiles, title=title), fmt)


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def zip_bytes(files: Sequence[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    # Pictures are already compressed: storing them is as small and much faster.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return out.getvalue()


def _safe_name(text: str, limit: int = 60) -> str:
    kept = "".join(ch if ch.isalnum() else "-" for ch in text.casefold())
    return "-".join(part for part in kept.split("-") if part)[:limit] or "scenery"


def _extension(fmt: str) -> str:
    return {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif"}.get(fmt.lower(), "img")


def _fits(font: Any, text: str, width: int) -> bool:
    return bool(font.getlength(text) <= width)


def _longest_prefix(font: Any, text: str, width: int, suffix: str = "") -> int:
    """How many characters of `text` (followed by `suffix`) fit in `width`: a bisection, so a long text
    costs a few dozen measurements instead of one per character."""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if _fits(font, text[:mid] + suffix, width):
            low = mid
        else:
            high = mid - 1
    return low


def _fit_text(font: Any, text: str, width: int) -> str:
    """`text` on one line of `width`, cut with "..." when it does not fit; bounded before measuring."""
    text = text[:MAX_CAPTION_CHARS]
    if _fits(font, text, width):
        return text
    return text[: _longest_prefix(font, text, width, "...")] + "..."


def wrap_text(text: str, font: Any, width: int, max_lines: int = CAPTION_MAX_LINES) -> list[str]:
    """`text` in lines of at most `width` pixels, broken between words (inside a word too long for a
    line), at most `max_lines`, the last cut with "..." when text is left over. The text is bounded to
    MAX_CAPTION_CHARS first: a 20,000-character name from a server costs no more than a prompt."""
    words = " ".join(text[: MAX_CAPTION_CHARS + 1].split())
    cut = len(text) > MAX_CAPTION_CHARS
    lines: list[str] = []
    rest = words
    while rest and len(lines) < max_lines:
        if _fits(font, rest, width):
            lines.append(rest)
            rest = ""
            break
        n = max(1, _longest_prefix(font, rest, width))
        space = rest.rfind(" ", 0, n + 1)
        if space > 0:
            n = space
        lines.append(rest[:n].rstrip())
        rest = rest[n:].lstrip()
    if (rest or cut) and lines:
        lines[-1] = _fit_text(font, lines[-1] + " " + rest, width)
        if not lines[-1].endswith("..."):
            lines[-1] = lines[-1][: _longest_prefix(font, lines[-1], width, "...")] + "..."
    return lines


@dataclass(frozen=True)
class SheetTile:
    """One picture of a contact sheet: its prompt (or name), the thumbnail, and its review mark."""

    caption: str
    thumb: Thumbnail
    flag: str = ""
    stars: int = 0

    @property
    def mark_text(self) -> str:
        parts = [_FLAG_WORDS.get(self.flag, self.flag.capitalize())] if self.flag else []
        if self.stars:
            parts.append(f"{self.stars} of 5 stars")
        return " · ".join(parts)


_FLAG_WORDS = {"pick": "Picked", "reject": "Rejected"}


def check_sheet_size(count: int) -> None:
    """A ValueError that says to select fewer when `count` pictures are more than one sheet holds."""
    if count > MAX_SHEET_TILES:
        raise ValueError(
            f"A contact sheet holds at most {MAX_SHEET_TILES} pictures; {count} are selected. "
            "Select fewer, or make several sheets."
        )


def mark_of(book: Any, scenery_id: str) -> tuple[str, int]:
    """(flag, stars) of a picture in a review `MarkBook` (or anything with `get(id)` answering a Mark);
    ("", 0) without one: marks are a nicety on a sheet, never a reason it cannot be made."""
    if book is None:
        return "", 0
    try:
        mark = book.get(scenery_id)
        return str(mark.flag), int(mark.stars)
    except Exception:
        return "", 0


def sheet_columns(count: int) -> int:
    """Four big tiles across an A4 landscape page, six when there are many."""
    return 4 if count <= 16 else 6


def sheet_grid(count: int, width: int = SHEET_WIDTH_PX) -> tuple[int, int, int]:
    """Columns, the side of a tile and the top of the first row, for a sheet of `count` pictures: tile
    `i` of the first row starts at x = SHEET_MARGIN_PX + i * (tile + SHEET_GAP_PX)."""
    cols = sheet_columns(count)
    tile = (width - 2 * SHEET_MARGIN_PX - (cols - 1) * SHEET_GAP_PX) // cols
    return cols, tile, SHEET_MARGIN_PX + TITLE_FONT_PX + 16 + INFO_FONT_PX + 32


def contact_sheet(
    tiles: Sequence[SheetTile | tuple[str, Thumbnail]],
    *,
    title: str = "Contact sheet",
    when: datetime | None = None,
    width: int = SHEET_WIDTH_PX,
) -> Image.Image:
    """A printable sheet: a header (title, date, count), then the pictures in rows, each with its marks
    and its whole prompt wrapped underneath. Pure, so it is tested alone and drawn in a thread.

    At most MAX_SHEET_TILES pictures and MAX_SHEET_PIXELS pixels: a ValueError that says to select fewer
    otherwise, checked before any pixel is drawn.
    """
    chosen = [t if isinstance(t, SheetTile) else SheetTile(t[0], t[1]) for t in tiles]
    if not chosen:
        raise ValueError(NOTHING_SHOWN)
    check_sheet_size(len(chosen))
    width = max(SHEET_WIDTH_PX, min(int(width), 2 * SHEET_WIDTH_PX))
    cols, tile, header = sheet_grid(len(chosen), width)
    margin, gap = SHEET_MARGIN_PX, SHEET_GAP_PX
    title_font, info_font = load_font(TITLE_FONT_PX), load_font(INFO_FONT_PX)
    font, line = load_font(CAPTION_FONT_PX), CAPTION_FONT_PX + 8
    has_marks = any(t.flag or t.stars for t in chosen)
    wrapped = [wrap_text(t.caption or "(no name)", font, tile) for t in chosen]
    rows = [range(i, min(i + cols, len(chosen))) for i in range(0, len(chosen), cols)]
    row_heights = [
        tile + 12 + (line if has_marks else 0) + max(len(wrapped[i]) for i in row) * line for row in rows
    ]
    height = header + sum(row_heights) + gap * (len(rows) - 1) + margin
    if width * height > MAX_SHEET_PIXELS:
        raise ValueError(
            f"That contact sheet would be {width} x {height} pixels, over the {MAX_SHEET_PIXELS:,} pixel "
            "limit: select fewer pictures."
        )
    from PIL import ImageDraw  # here, not at import: a first gallery draws no sheet

    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    ink, soft = (17, 24, 39), (75, 85, 99)
    draw.text(
        (margin, margin),
        _fit_text(title_font, title or "Contact sheet", width - 2 * margin),
        fill=ink,
        font=title_font,
    )
    day = (when or datetime.now(timezone.utc)).strftime("%d %B %Y, %H:%M %Z").strip().lstrip("0")
    draw.text(
        (margin, margin + TITLE_FONT_PX + 16), f"{day} · {pictures(len(chosen))}", fill=soft, font=info_font
    )
    y = header
    for row, row_height in zip(rows, row_heights, strict=True):
        for col, index in enumerate(row):
            x = margin + col * (tile + gap)
            with Image.open(io.BytesIO(chosen[index].thumb.data)) as source:
                picture = source.convert("RGB")
            if picture.size != (tile, tile):
                picture = picture.resize((tile, tile), Image.Resampling.LANCZOS)
            sheet.paste(picture, (x, y))
            text_y = y + tile + 12
            if has_marks:
                draw.text((x, text_y), chosen[index].mark_text, fill=(146, 64, 14), font=font)
                text_y += line
            for text in wrapped[index]:
                draw.text((x, text_y), text, fill=ink, font=font)
                text_y += line
        y += row_height + gap
    return sheet


def sheet_bytes(sheet: Image.Image, fmt: str = "png") -> bytes:
    """The sheet as PNG or as a one-page PDF at 200 dpi (A4 landscape for the standard width)."""
    out = io.BytesIO()
    if fmt == "pdf":
        sheet.save(out, "PDF", resolution=SHEET_DPI)
    else:
        sheet.save(out, "PNG", optimize=True)
    return out.getvalue()
