"""The product cutout: checked like a downloaded image (formats, pixel budget, a complete decode,
transparency) from Python and from the browser's file picker, kept small, and sent as one buffer."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from qamera_widgets.engine.pictures.product import MAX_PRODUCT_PX, ProductError, read_cutout


def cutout_png(size: tuple[int, int] = (300, 200), fmt: str = "PNG", mode: str = "RGBA") -> bytes:
    img = Image.new(mode, size, (200, 30, 30, 0) if mode == "RGBA" else (200, 30, 30))
    if mode == "RGBA":
        img.paste((200, 30, 30, 255), (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1]))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def huge_png_header(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a pixel bomb), with a bit of IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_cutout_with_transparency_is_kept_as_png() -> None:
    for fmt in ("PNG", "WEBP"):
        cut = read_cutout(cutout_png(fmt=fmt))
        assert (cut.width, cut.height, cut.format) == (300, 200, "png")
        with Image.open(io.BytesIO(cut.data)) as img:
            assert img.format == "PNG" and img.mode == "RGBA"
            assert img.getpixel((0, 0))[3] == 0 and img.getpixel((150, 150))[3] == 255


def test_a_large_cutout_is_made_small_and_a_path_works(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    path.write_bytes(cutout_png((5000, 2500)))
    cut = read_cutout(path)
    assert max(cut.width, cut.height) == MAX_PRODUCT_PX and cut.width == 2 * cut.height
    assert read_cutout(str(path)).width == cut.width


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (huge_png_header(), "30000 x 30000 pixels, over the limit"),
        (cutout_png()[:200], "damaged"),
        (b"%PDF-1.4 not a picture at all" * 10, "not a PNG or WebP"),
        (cutout_png(fmt="JPEG", mode="RGB"), "not a PNG or WebP"),
        (cutout_png(mode="RGB"), "no transparency"),
        (b"", "empty"),
    ],
)
def test_bad_cutouts_get_a_sentence(data: bytes, words: str) -> None:
    with pytest.raises(ProductError, match=words):
        read_cutout(data)


def test_bad_sources_get_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="No file at"):
        read_cutout(tmp_path / "missing.png")
    with pytest.raises(ProductError, match="file path or the file's bytes"):
        read_cutout(42)  # type: ignore[arg-type]
