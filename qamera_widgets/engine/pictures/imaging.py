"""Pictures as bytes in, bytes out: decoding only web formats within a pixel budget, thumbnails,
previews, placeholders. Pure functions with no network and no event loop (`engine.pictures.loader` fetches).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from ...client.errors import QameraError

if TYPE_CHECKING:
    from PIL import ImageFont

# ImageOps, ImageDraw and ImageFont are imported where they are used (ImageOps by the decoding threads):
# the widgets' first import does not wait for modules that only a placeholder or a sheet needs.

MAX_IMAGE_PIXELS = 50_000_000
"""Largest source image we agree to decode; checked from the header, before any pixel is decoded."""

WEB_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
"""The only formats decoded from downloaded bytes: others (EPS runs Ghostscript, and many rarely used
plugins are fuzzing targets) are refused before any plugin but these four looks at the data."""

MAX_THUMBNAIL_PX = 1024
OUTPUT_FORMATS = ("jpeg", "webp", "png")
PLACEHOLDER_KINDS = ("rendering", "failed", "no preview")

PLACEHOLDER_LABELS = {"rendering": "rendering...", "failed": "failed", "no preview": "no preview"}
_PLACEHOLDER_BACKGROUND = (229, 231, 235)
_PLACEHOLDER_TEXT = (75, 85, 99)
_JPEG_BACKGROUND = (255, 255, 255)
_QUALITY = 80


@dataclass(frozen=True)
class Thumbnail:
    """A small encoded square image, ready for ``ipywidgets.Image(value=data, format=format)``."""

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    source_bytes: int
    placeholder: str | None = None


class ThumbnailError(QameraError):
    """The bytes are not an image we are willing to decode (garbage, truncated, or a pixel bomb)."""


def check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_THUMBNAIL_PX:
        raise ValueError(f"thumbnail size must be an int from 1 to {MAX_THUMBNAIL_PX}, got {size!r}")
    return size


def check_format(output_format: str) -> str:
    fmt = output_format.lower()
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {output_format!r}")
    return fmt


def _cover_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The centred square of the source that a cover-fit square thumbnail shows."""
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _to_output_mode(img: Image.Image, fmt: str) -> Image.Image:
    if not _has_alpha(img):
        return img if img.mode == "RGB" else img.convert("RGB")
    rgba = img.convert("RGBA")
    if fmt != "jpeg":
        return rgba
    flat = Image.new("RGB", rgba.size, _JPEG_BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=_QUALITY, optimize=True)
    elif fmt == "webp":
        img.save(out, "WEBP", quality=_QUALITY, method=4)
    else:
        img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _pixel_limit() -> int:
    """Ours, or Pillow's global if someone set it lower: past Pillow's limit it only warns, we refuse.

    Comparing numbers instead of turning DecompressionBombWarning into an error keeps this
    thread-safe, since warning filters are process-wide and decoding runs in worker threads.
    """
    pillow = Image.MAX_IMAGE_PIXELS
    return MAX_IMAGE_PIXELS if pillow is None else min(MAX_IMAGE_PIXELS, int(pillow))


def prepare_decoding() -> None:
    """Load Pillow's format plugins and ImageOps now (10-15 ms the first time), ahead of a first picture."""
    from PIL import ImageOps  # noqa: F401

    Image.preinit()


def open_web_image(data: bytes) -> Image.Image:
    """Open downloaded bytes as one of `WEB_FORMATS` (header only, nothing decoded yet), checking the
    pixel limit; raises `ThumbnailError` for anything else. Thumbnails and originals both open this way."""
    try:
        img = Image.open(io.BytesIO(data), formats=WEB_FORMATS)
    except UnidentifiedImageError:
        raise ThumbnailError(
            f"not an image in a web format ({', '.join(WEB_FORMATS)}); other formats are not decoded"
        ) from None
    except Exception as exc:
        raise ThumbnailError(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
    width, height = img.size
    limit = _pixel_limit()
    if width * height > limit:
        img.close()
        raise ThumbnailError(f"image claims {width}x{height} pixels, over the {limit} pixel limit")
    return img


def make_thumbnail(data: bytes, size: int, output_format: str = "jpeg") -> Thumbnail:
    """Decode ``data`` and cover-crop it to a ``size`` x ``size`` square, encoded small.

    Pure and blocking, so callers on an event loop run it in a thread. The pixel limit is checked
    on the header Pillow reads at open, so a tiny file that claims a huge canvas costs nothing.
    """
    from PIL import ImageOps

    px = check_size(size)
    fmt = check_format(output_format)
    try:
        with open_web_image(data) as img:
            img.draft("RGB", (px, px))
            upright = ImageOps.exif_transpose(img)
            ready = _to_output_mode(upright, fmt)
            square = ready.resize(
                (px, px), Image.Resampling.LANCZOS, box=_cover_box(*ready.size), reducing_gap=3.0
            )
            encoded = _encode(square, fmt)
    except ThumbnailError:
        raise
    # Pillow's plugins raise a zoo of types on hostile input (OSError, SyntaxError, struct.error,
    # zlib.error, DecompressionBombError, ...): for untrusted bytes they all mean "not decodable".
    except Exception as exc:
        raise ThumbnailError(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
    return Thumbnail(data=encoded, format=fmt, width=px, height=px, source_bytes=len(data))


MAX_PREVIEW_PX = 2048


def make_preview(data: bytes, max_px: int) -> Thumbnail:
    """Decode ``data`` and shrink it to fit ``max_px`` on its longest side, keeping its shape.

    For the large view: unlike a thumbnail nothing is cropped, and a small original is not enlarged.
    """
    if isinstance(max_px, bool) or not isinstance(max_px, int) or not 16 <= max_px <= MAX_PREVIEW_PX:
        raise ValueError(f"max_px must be an int from 16 to {MAX_PREVIEW_PX}, got {max_px!r}")
    from PIL import ImageOps

    try:
        with open_web_image(data) as img:
            img.draft("RGB", (max_px, max_px))
            ready = _to_output_mode(ImageOps.exif_transpose(img), "jpeg")
            ready.thumbnail((max_px, max_px), Image.Resampling.LANCZOS, reducing_gap=3.0)
            out = io.BytesIO()
            ready.save(out, "JPEG", quality=88, optimize=True)
            size = ready.size
    except ThumbnailError:
        raise
    except Exception as exc:  # hostile input raises many types; all mean "not decodable"
        raise ThumbnailError(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
    width, height = size
    return Thumbnail(data=out.getvalue(), format="jpeg", width=width, height=height, source_bytes=len(data))


def sniff_web_format(data: bytes) -> str:
    """The web format of an original (jpeg, png, webp or gif), read from its header only."""
    try:  # no pixel limit: an original is handed over as it is, never decoded here
        with Image.open(io.BytesIO(data), formats=WEB_FORMATS) as img:
            return str(img.format).lower()
    except Exception as exc:
        raise ThumbnailError(f"not a web picture: {type(exc).__name__}") from exc


def load_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at `size` px, or its fixed bitmap font where sizing is unsupported."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def render_placeholder(kind: str, px: int) -> Thumbnail:
    label = PLACEHOLDER_LABELS[kind]
    from PIL import ImageDraw

    tile = Image.new("RGB", (px, px), _PLACEHOLDER_BACKGROUND)
    draw = ImageDraw.Draw(tile)
    font = load_font(max(8, px // 9))
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    x = (px - (right - left)) / 2 - left
    y = (px - (bottom - top)) / 2 - top
    draw.text((x, y), label, fill=_PLACEHOLDER_TEXT, font=font)
    data = _encode(tile, "png")
    return Thumbnail(data=data, format="png", width=px, height=px, source_bytes=0, placeholder=kind)
