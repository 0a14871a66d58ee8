"""A product cutout to preview over a background: checked like any downloaded image, then made small.

A person's cutout (a PNG or WebP with transparency) comes from a path, bytes in Python, or the file
picker in the browser (a crafted message is as likely). It is refused with one sentence unless it is
one of those two formats, within the pixel budget (read from the header, before decoding), decodes
completely and has an alpha channel. What is kept is a PNG fitted into `MAX_PRODUCT_PX`, so the buffer
sent to the browser is bounded whatever came in. It never leaves the kernel and the browser.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .imaging import MAX_IMAGE_PIXELS

__all__ = ["MAX_PRODUCT_BYTES", "MAX_PRODUCT_PX", "PRODUCT_FORMATS", "Cutout", "ProductError", "read_cutout"]

PRODUCT_FORMATS = ("PNG", "WEBP")
"""Formats that carry transparency and that browsers draw: the only ones opened."""
MAX_PRODUCT_BYTES = 40 * 1024 * 1024
MAX_PRODUCT_PX = 2048
"""The kept cutout's longest side: as sharp as the largest preview it is drawn over."""


class ProductError(ValueError):
    """The cutout cannot be used; the message says why and what to give instead."""


@dataclass(frozen=True)
class Cutout:
    """A checked cutout: PNG bytes with an alpha channel and their size."""

    data: bytes
    width: int
    height: int
    format: str = "png"


def _bytes_of(source: str | Path | bytes | bytearray | memoryview) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ProductError(f"No file at {str(path)!r}: give the path of a PNG or WebP cutout.")
        if path.stat().st_size > MAX_PRODUCT_BYTES:
            raise ProductError(_too_big())
        data = path.read_bytes()
    else:
        raise ProductError(f"set_product takes a file path or the file's bytes, not {type(source).__name__}.")
    if len(data) > MAX_PRODUCT_BYTES:
        raise ProductError(_too_big())
    if not data:
        raise ProductError("The product file is empty: give a PNG or WebP cutout with transparency.")
    return data


def _too_big() -> str:
    return f"The product file is over {MAX_PRODUCT_BYTES // (1024 * 1024)} MB: save a smaller cutout."


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, read by hand (Pillow will not open a pixel bomb)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _too_many_pixels(size: tuple[int, int] | None) -> str:
    what = f"is {size[0]} x {size[1]} pixels" if size else "has more pixels than that"
    return (
        f"The product picture {what}, over the limit of {MAX_IMAGE_PIXELS:,} pixels: scale it down"
        f" (for example to {MAX_PRODUCT_PX} px on its longest side) and try again."
    )


def read_cutout(source: str | Path | bytes | bytearray | memoryview) -> Cutout:
    """Check a cutout and return it fitted into MAX_PRODUCT_PX as PNG; `ProductError` says what is wrong.

    Blocking (it decodes): callers on an event loop run it in a thread.
    """
    data = _bytes_of(source)
    try:
        img = Image.open(io.BytesIO(data), formats=PRODUCT_FORMATS)
    except Image.DecompressionBombError:  # Pillow refuses a far too large header already at open
        raise ProductError(_too_many_pixels(_png_size(data))) from None
    except Exception:
        raise ProductError(
            "The product file is not a PNG or WebP picture: save the cutout as PNG or WebP with transparency."
        ) from None
    with img:
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ProductError(_too_many_pixels((width, height)))
        try:
            from PIL import ImageOps  # here, not at import: a first gallery opens no cutout

            img.load()
            upright = ImageOps.exif_transpose(img)
        except Exception:
            raise ProductError(
                "The product file is damaged and cannot be read: export the cutout again as PNG or WebP."
            ) from None
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        if not has_alpha:
            raise ProductError(
                "The product picture has no transparency: cut the product out (a PNG or WebP with an "
                "alpha channel) so the background shows around it."
            )
        ready = upright.convert("RGBA")
    ready.thumbnail((MAX_PRODUCT_PX, MAX_PRODUCT_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    ready.save(out, "PNG", optimize=False)
    return Cutout(data=out.getvalue(), width=ready.width, height=ready.height)
