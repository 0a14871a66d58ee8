"""What leaves the kernel as a file: the contact sheet (one image of tiles with captions) and the zip of
originals. Pure or thread-safe functions, no traitlets: the canvas gathers the pictures and calls these.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from ..client.models import Scenery
from .thumbnails import Thumbnail, load_font

__all__ = [
    "CONTACT_SHEET_LABEL_PX",
    "CONTACT_SHEET_MARGIN",
    "MAX_ZIP_BYTES",
    "NOTHING_SELECTED",
    "NOTHING_SHOWN",
    "SHEET_COLUMNS",
    "contact_sheet",
    "png_bytes",
    "save_sheet",
    "zip_bytes",
    "zip_originals",
]

MAX_ZIP_BYTES = 200 * 2**20
"""A browser download of the selection's originals stops here rather than filling the kernel's memory."""
CONTACT_SHEET_MARGIN = 8
CONTACT_SHEET_LABEL_PX = 22
"""Height of the caption strip under each tile of a contact sheet."""
SHEET_COLUMNS = 4
NOTHING_SELECTED = (
    "No sceneries are selected: tick some cards first "
    "(or call contact_sheet(selected_only=False) for everything shown)."
)
NOTHING_SHOWN = "There are no sceneries to put on a contact sheet."
_SHEET_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def save_sheet(make: Callable[[], Image.Image], path: str | Path) -> Path:
    """Write the sheet `make()` draws as PNG, JPEG or WebP, chosen by the file extension (checked first,
    so a wrong name costs no drawing)."""
    target = Path(path)
    fmt = _SHEET_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"Use a .png, .jpg, .jpeg or .webp file name, not {target.name!r}.")
    sheet = make()
    if fmt == "JPEG":
        sheet.save(target, fmt, quality=90)
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


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def contact_sheet(
    tiles: Sequence[tuple[str, Thumbnail]], px: int, columns: int = SHEET_COLUMNS
) -> Image.Image:
    """Tiles in rows with a caption strip under each: pure, so it can be tested and run in a thread."""
    margin, label = CONTACT_SHEET_MARGIN, CONTACT_SHEET_LABEL_PX
    cols = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new(
        "RGB", (cols * (px + margin) + margin, rows * (px + label + margin) + margin), (255, 255, 255)
    )
    draw = ImageDraw.Draw(sheet)
    font = load_font(max(9, label - 8))
    for index, (caption, thumb) in enumerate(tiles):
        row, col = divmod(index, cols)
        x = margin + col * (px + margin)
        y = margin + row * (px + label + margin)
        with Image.open(io.BytesIO(thumb.data)) as tile:
            picture = tile.convert("RGB")
        if picture.size != (px, px):
            picture = picture.resize((px, px))
        sheet.paste(picture, (x, y))
        draw.text(
            (x, y + px + 3),
            _fit_text(draw, " ".join(caption.split()), font, px),
            fill=(31, 41, 55),
            font=font,
        )
    return sheet
