"""The printable contact sheet as a pure function: its size, its header, whole prompts wrapped under each
picture, marks, PDF, bounded captions (counted measurements) and a bounded memory cost (RSS measured in a
subprocess)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

import pytest
from PIL import Image

from qamera_widgets.engine.pictures import sheets as exports
from qamera_widgets.engine.pictures.imaging import load_font, make_thumbnail
from qamera_widgets.engine.pictures.sheets import SheetTile, contact_sheet, sheet_bytes, wrap_text

PROMPT = (
    "Rustic walnut table by a tall morning window, linen runner, a bowl of green apples, soft shadows on "
    "a limewashed wall, shot from eye level with a 50 mm lens"
)


def thumb(colour: tuple[int, int, int] = (200, 120, 40), px: int = 176) -> Any:
    out = io.BytesIO()
    Image.new("RGB", (px, px), colour).save(out, "PNG")
    return make_thumbnail(out.getvalue(), px)


class CountingFont:
    """A font that counts how often text is measured: a fit costs measurements, not seconds."""

    def __init__(self, size: int = 26) -> None:
        self.font = load_font(size)
        self.calls = 0

    def getlength(self, text: str) -> float:
        self.calls += 1
        return float(self.font.getlength(text))


def test_a_sheet_is_printable_with_a_header_and_whole_prompts() -> None:
    tiles = [SheetTile(PROMPT, thumb()), SheetTile("Oak", thumb((10, 90, 200))), SheetTile("", thumb())]
    sheet = contact_sheet(
        tiles, title="Kitchen client", when=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
    )
    assert sheet.width >= 2400, "A4 landscape at 200 dpi"
    _cols, tile, top = exports.sheet_grid(3)
    assert tile >= 500, "pictures big enough to judge once printed"
    # The header is drawn (ink above the first row), the first picture sits where the grid says.
    header = sheet.crop((0, 0, sheet.width, top - 4)).convert("L")
    darkest = header.getextrema()[0]
    assert isinstance(darkest, int) and darkest < 100
    centre = sheet.getpixel((exports.SHEET_MARGIN_PX + tile // 2, top + tile // 2))
    assert isinstance(centre, tuple)
    assert max(abs(a - b) for a, b in zip(centre, (200, 120, 40), strict=True)) <= 3  # JPEG thumbnail
    # The whole prompt is under its picture: wrapped, nothing cut.
    lines = wrap_text(PROMPT, load_font(exports.CAPTION_FONT_PX), tile)
    assert len(lines) > 1 and " ".join(lines) == " ".join(PROMPT.split())
    assert sheet.height >= top + tile + len(lines) * (exports.CAPTION_FONT_PX + 8)


def test_marks_are_printed_and_take_a_line() -> None:
    plain = contact_sheet([SheetTile("Oak", thumb())])
    marked = contact_sheet([SheetTile("Oak", thumb(), flag="pick", stars=4)])
    assert marked.height == plain.height + exports.CAPTION_FONT_PX + 8
    assert SheetTile("x", thumb(), flag="pick", stars=4).mark_text == "Picked · 4 of 5 stars"


def test_a_sheet_saves_as_png_and_pdf() -> None:
    sheet = contact_sheet([SheetTile("Oak", thumb())])
    assert sheet_bytes(sheet, "pdf").startswith(b"%PDF")
    with Image.open(io.BytesIO(sheet_bytes(sheet, "png"))) as png:
        assert png.format == "PNG" and png.size == sheet.size


def test_a_long_caption_is_bounded_before_it_is_measured() -> None:
    font = CountingFont()
    name = "marble " * 3000  # 21,000 characters, as a hostile server name
    lines = wrap_text(name, font, 360)
    assert len(lines) <= exports.CAPTION_MAX_LINES and lines[-1].endswith("...")
    # Bisection per line: a few dozen measurements a line, never one per character (the old 21,000).
    assert font.calls < 40 * exports.CAPTION_MAX_LINES
    one_word = CountingFont()
    [line] = wrap_text("x" * 20_000, one_word, 360, max_lines=1)
    assert line.endswith("...") and one_word.calls < 60


def test_too_many_pictures_are_refused_before_drawing() -> None:
    tiles = [SheetTile("x", thumb())] * (exports.MAX_SHEET_TILES + 1)
    with pytest.raises(ValueError, match=f"at most {exports.MAX_SHEET_TILES}"):
        contact_sheet(tiles)
