"""Small synthetic images for thumbnail tests, built in memory so the repository holds no binaries."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, ImageDraw, ImageFilter

ORIENTATION_TAG = 0x0112


def encode(img: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def photo_jpeg(width: int = 768, height: int = 768, *, seed: int = 1, quality: int = 90) -> bytes:
    """Gradients, blurred shapes and sensor-like noise: compresses like a photo, not like a flat tile."""
    rnd = random.Random(seed)
    ramp = Image.linear_gradient("L").resize((width, height))
    img = Image.merge("RGB", [ramp, ramp.rotate(90), Image.new("L", (width, height), 120)])
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y, r = rnd.randrange(width), rnd.randrange(height), rnd.randrange(10, 120)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rnd.randrange(256), rnd.randrange(256), 90))
    img = img.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((width, height), 25).convert("RGB")
    return encode(Image.blend(img, noise, 0.15), "JPEG", quality=quality)


def halves_jpeg(orientation: int | None = None) -> bytes:
    """A 200x100 landscape, red left half and blue right half, optionally tagged with EXIF Orientation."""
    img = Image.new("RGB", (200, 100), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 100, 100))
    if orientation is None:
        return encode(img, "JPEG", quality=95)
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    return encode(img, "JPEG", quality=95, exif=exif.tobytes())


def thirds_png(width: int = 300, height: int = 100) -> bytes:
    """Red, green and blue vertical thirds: a centred square crop of it sees only green."""
    img = Image.new("RGB", (width, height), (0, 255, 0))
    img.paste((255, 0, 0), (0, 0, width // 3, height))
    img.paste((0, 0, 255), (width - width // 3, 0, width, height))
    return encode(img, "PNG")


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR is patched (with a correct CRC) to claim ``width`` x ``height``."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)
