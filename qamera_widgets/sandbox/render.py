"""Product-photo backdrops drawn with Pillow: a wall, a floor, a key light, a contact shadow and a texture,
with colours and materials taken from words in the prompt.

Everything is deterministic for (prompt, index): noise comes from a seeded `random.Random`, never from
Pillow's own noise generator, so the same item renders to the same JPEG bytes on every run.
"""

from __future__ import annotations

import colorsys
import hashlib
import os
import random
import re
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

SIZE = 768
_SMALL = SIZE // 4  # soft masks (light, shadow, glow) are drawn small and scaled up: blurs stay cheap

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Look:
    """What a prompt asks for, before the per-item variation is applied."""

    wall: RGB = (226, 220, 212)
    floor: RGB = (206, 198, 188)
    light: RGB = (255, 246, 230)
    material: str = "plain"
    wall_texture: str = "plaster"
    brightness: float = 1.0
    neon: RGB | None = None
    foliage: bool = False
    sea: bool = False
    window: bool = False


_COLOURS: dict[str, RGB] = {
    "white": (240, 238, 234),
    "black": (46, 44, 44),
    "grey": (150, 150, 152),
    "gray": (150, 150, 152),
    "beige": (222, 206, 182),
    "cream": (238, 228, 206),
    "pink": (236, 176, 190),
    "red": (184, 58, 52),
    "orange": (228, 134, 70),
    "terracotta": (194, 106, 78),
    "yellow": (238, 206, 96),
    "gold": (206, 170, 92),
    "green": (104, 150, 104),
    "sage": (164, 180, 150),
    "blue": (92, 136, 196),
    "navy": (40, 56, 100),
    "teal": (52, 138, 140),
    "purple": (132, 96, 170),
    "lilac": (196, 176, 220),
    "brown": (128, 92, 66),
}

_MATERIALS: dict[str, tuple[str, RGB]] = {
    "marble": ("marble", (234, 232, 228)),
    "wood": ("wood", (164, 116, 74)),
    "wooden": ("wood", (164, 116, 74)),
    "oak": ("wood", (182, 140, 92)),
    "walnut": ("wood", (108, 72, 48)),
    "concrete": ("concrete", (158, 156, 152)),
    "cement": ("concrete", (158, 156, 152)),
    "stone": ("concrete", (140, 134, 124)),
    "tile": ("tile", (214, 214, 208)),
    "tiles": ("tile", (214, 214, 208)),
    "terrazzo": ("terrazzo", (226, 220, 210)),
    "linen": ("fabric", (222, 210, 190)),
    "fabric": ("fabric", (200, 188, 172)),
    "velvet": ("fabric", (110, 40, 60)),
    "sand": ("sand", (222, 196, 150)),
    "moss": ("moss", (92, 118, 64)),
}


def look_for(prompt: str) -> Look:
    """Read colour, material and mood words; later words win, so "white marble" gives white marble."""
    look = Look()
    wall_colour: RGB | None = None
    pastel = False
    for word in re.findall(r"[a-z]+", prompt.lower()):
        if word in _COLOURS:
            wall_colour = _COLOURS[word]
        elif word in _MATERIALS:
            material, floor = _MATERIALS[word]
            look = replace(look, material=material, floor=floor)
            if material == "concrete":
                look = replace(look, wall_texture="concrete", wall=(176, 174, 170))
        elif word in ("beach", "sea", "ocean", "coast", "summer"):
            look = replace(
                look,
                material="sand",
                floor=(226, 200, 156),
                wall=(150, 196, 228),
                sea=True,
                light=(255, 240, 210),
            )
        elif word in ("forest", "jungle", "tropical", "garden", "plant", "plants", "leaves"):
            look = replace(
                look,
                foliage=True,
                material="moss" if word in ("forest", "jungle") else look.material,
                floor=(96, 112, 70) if word in ("forest", "jungle") else look.floor,
                wall=(120, 150, 110),
                light=(246, 250, 220),
            )
        elif word in ("night", "dark", "moody", "midnight"):
            look = replace(look, brightness=0.45, light=(190, 200, 255))
        elif word in ("neon", "cyberpunk", "synthwave"):
            look = replace(
                look,
                neon=(255, 60, 200) if look.neon is None else (60, 220, 255),
                brightness=min(look.brightness, 0.55),
                wall=(40, 36, 64),
                floor=(30, 30, 46),
            )
        elif word in ("window", "sunlight", "sunny", "morning"):
            look = replace(look, window=True, light=(255, 236, 196))
        elif word in ("pastel", "soft"):
            pastel = True
        elif word in ("warm", "sunset"):
            look = replace(look, light=(255, 200, 140))
        elif word in ("cold", "cool", "winter"):
            look = replace(look, light=(210, 228, 255))
    if wall_colour is not None:
        floor = look.floor if look.material != "plain" else _towards(wall_colour, (0, 0, 0), 0.12)
        look = replace(look, wall=wall_colour, floor=floor)
    if pastel:
        look = replace(
            look,
            wall=_towards(look.wall, (255, 255, 255), 0.45),
            floor=_towards(look.floor, (255, 250, 250), 0.45),
        )
    return look


def render_key(prompt: str, index: int) -> str:
    """Names the picture of (prompt, index): its cache file name and its ETag."""
    return hashlib.sha256(f"{index}\x00{prompt}".encode()).hexdigest()[:32]


def render_scenery(prompt: str, index: int) -> bytes:
    """The 768x768 JPEG of one scenery."""
    rng = random.Random(render_key(prompt, index))
    look = _vary(look_for(prompt), rng)
    horizon = int(SIZE * rng.uniform(0.56, 0.68))
    light_x = rng.uniform(0.2, 0.8)

    image = _backdrop(look, horizon)
    image = _with_floor_texture(image, look, horizon, rng)
    if look.wall_texture == "concrete":
        image = _overlay_noise(image, rng, box=(0, 0, SIZE, horizon), scale=3, strength=0.16)
    else:
        image = _overlay_noise(image, rng, box=(0, 0, SIZE, horizon), scale=2, strength=0.05)
    if look.foliage:
        image = _with_foliage(image, rng)
    if look.window:
        image = _with_window_light(image, look, horizon, rng)
    image = _with_key_light(image, look, horizon, light_x)
    if look.neon is not None:
        image = _with_neon(image, look.neon, horizon, rng)
    image = _with_shadows(image, horizon, light_x, rng)
    image = _with_vignette(image, look.brightness)

    out = BytesIO()
    image.save(out, format="JPEG", quality=86)
    return out.getvalue()


def render_to_file(prompt: str, index: int, path: Path) -> Path:
    """Render once into the cache; the temporary name keeps half-written files from being served."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(render_scenery(prompt, index))
        os.replace(partial, path)
    return path


def _towards(colour: RGB, target: RGB, amount: float) -> RGB:
    r, g, b = (round(c + (t - c) * amount) for c, t in zip(colour, target, strict=True))
    return (r, g, b)


def _scale(colour: RGB, factor: float) -> RGB:
    r, g, b = (max(0, min(255, round(c * factor))) for c in colour)
    return (r, g, b)


def _vary(look: Look, rng: random.Random) -> Look:
    """Small hue and lightness shifts so the items of one batch are siblings, not copies."""

    def shift(colour: RGB) -> RGB:
        h, lightness, s = colorsys.rgb_to_hls(*(c / 255 for c in colour))
        h = (h + rng.uniform(-0.02, 0.02)) % 1.0
        lightness = max(0.0, min(1.0, lightness + rng.uniform(-0.05, 0.05)))
        s = max(0.0, min(1.0, s * rng.uniform(0.85, 1.15)))
        r, g, b = (round(c * 255) for c in colorsys.hls_to_rgb(h, lightness, s))
        return (r, g, b)

    return replace(look, wall=shift(look.wall), floor=shift(look.floor))


def _noise(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def _column(colours: list[RGB]) -> Image.Image:
    strip = Image.new("RGB", (1, len(colours)))
    strip.putdata(colours)
    return strip.resize((SIZE, SIZE), Image.Resampling.BILINEAR)


def _backdrop(look: Look, horizon: int) -> Image.Image:
    """Wall and floor as vertical gradients: the wall darkens towards the seam, the floor lightens forward."""
    rows: list[RGB] = []
    for y in range(SIZE):
        if y < horizon:
            t = y / horizon
            if look.sea:
                sky = _towards((120, 176, 226), (236, 244, 250), t)
                sea_top = horizon - SIZE * 0.08
                rows.append(
                    sky if y < sea_top else _towards((58, 130, 170), (120, 180, 200), (y - sea_top) / 60)
                )
            else:
                rows.append(_scale(look.wall, 1.08 - 0.16 * t))
        else:
            t = (y - horizon) / (SIZE - horizon)
            rows.append(_scale(look.floor, 0.86 + 0.2 * t))
    image = _column(rows)
    seam = Image.new("L", (1, SIZE), 0)
    seam.putdata([max(0, 90 - abs(y - horizon) * 6) for y in range(SIZE)])
    return Image.composite(
        Image.new("RGB", (SIZE, SIZE), _scale(look.floor, 0.55)),
        image,
        seam.resize((SIZE, SIZE), Image.Resampling.BILINEAR),
    )


def _overlay_noise(
    image: Image.Image,
    rng: random.Random,
    *,
    box: tuple[int, int, int, int],
    scale: int,
    strength: float,
    stretch: tuple[int, int] = (1, 1),
) -> Image.Image:
    """Grain of the given coarseness: random bytes drawn small and scaled up, blended in as light/dark."""
    width, height = box[2] - box[0], box[3] - box[1]
    if width <= 0 or height <= 0:
        return image
    small = (max(1, width // (scale * stretch[0])), max(1, height // (scale * stretch[1])))
    grain = _noise(rng, small).resize((width, height), Image.Resampling.BICUBIC).convert("RGB")
    region = image.crop(box)
    image.paste(Image.blend(region, ImageChops.overlay(region, grain), strength), box[:2])
    return image


def _with_floor_texture(image: Image.Image, look: Look, horizon: int, rng: random.Random) -> Image.Image:
    box = (0, horizon, SIZE, SIZE)
    depth = SIZE - horizon
    if look.material == "wood":
        image = _overlay_noise(image, rng, box=box, scale=2, strength=0.35, stretch=(40, 1))
        draw = ImageDraw.Draw(image)
        y = float(horizon)
        gap = 6.0
        while y < SIZE:
            draw.line(
                [(0, int(y)), (SIZE, int(y))], fill=_scale(look.floor, 0.62), width=max(1, int(gap / 14))
            )
            y += gap
            gap *= 1.35
        for _ in range(14):
            x = rng.uniform(0, SIZE)
            draw.line(
                [(x, horizon), (SIZE / 2 + (x - SIZE / 2) * 2.4, SIZE)], fill=_scale(look.floor, 0.8), width=1
            )
    elif look.material == "marble":
        image = _overlay_noise(image, rng, box=box, scale=24, strength=0.2)
        veins = Image.new("L", (SIZE, depth), 0)
        draw = ImageDraw.Draw(veins)
        for _ in range(rng.randint(5, 9)):
            x, y = rng.uniform(-100, SIZE), rng.uniform(0, depth)
            points = [(x, y)]
            for _ in range(16):
                x += rng.uniform(30, 70)
                y += rng.uniform(-12, 12)
                points.append((x, y))
            draw.line(points, fill=rng.randint(140, 230), width=rng.choice((2, 2, 3, 4)))
        veins = veins.filter(ImageFilter.GaussianBlur(1.6))
        vein_colour = Image.new("RGB", veins.size, _scale(look.floor, 0.55))
        region = image.crop(box)
        image.paste(Image.composite(vein_colour, region, veins), box[:2])
    elif look.material == "concrete":
        image = _overlay_noise(image, rng, box=box, scale=1, strength=0.22)
        image = _overlay_noise(image, rng, box=box, scale=40, strength=0.15)
    elif look.material == "sand":
        image = _overlay_noise(image, rng, box=box, scale=1, strength=0.25)
        image = _overlay_noise(image, rng, box=box, scale=6, strength=0.3, stretch=(8, 1))
    elif look.material == "moss":
        image = _overlay_noise(image, rng, box=box, scale=3, strength=0.3)
        image = _overlay_noise(image, rng, box=box, scale=24, strength=0.35)
    elif look.material == "tile":
        draw = ImageDraw.Draw(image)
        grout = _scale(look.floor, 0.7)
        y, gap = float(horizon), 10.0
        while y < SIZE:
            draw.line([(0, int(y)), (SIZE, int(y))], fill=grout, width=2)
            y += gap
            gap *= 1.3
        for k in range(-12, 13):
            x = SIZE / 2 + k * 40
            draw.line([(x, horizon), (SIZE / 2 + k * 40 * 4, SIZE + depth)], fill=grout, width=2)
        image = _overlay_noise(image, rng, box=box, scale=2, strength=0.08)
    elif look.material == "terrazzo":
        draw = ImageDraw.Draw(image)
        chips = [(196, 120, 96), (90, 110, 120), (230, 200, 150), (60, 60, 60)]
        for _ in range(420):
            y = rng.uniform(horizon, SIZE)
            size = 1 + 6 * (y - horizon) / depth
            x = rng.uniform(0, SIZE)
            draw.ellipse([x, y, x + size * rng.uniform(0.8, 1.6), y + size * 0.6], fill=rng.choice(chips))
        image = _overlay_noise(image, rng, box=box, scale=1, strength=0.1)
    elif look.material == "fabric":
        image = _overlay_noise(image, rng, box=box, scale=1, strength=0.3, stretch=(6, 1))
        image = _overlay_noise(image, rng, box=box, scale=1, strength=0.2, stretch=(1, 6))
    else:
        image = _overlay_noise(image, rng, box=box, scale=2, strength=0.06)
    return image


def _soft_mask(
    draw_shapes: list[tuple[str, tuple[float, float, float, float], int]], blur: float
) -> Image.Image:
    """Ellipses and rectangles drawn at quarter size, blurred, then scaled to the full image."""
    mask = Image.new("L", (_SMALL, _SMALL), 0)
    draw = ImageDraw.Draw(mask)
    for shape, box, value in draw_shapes:
        small_box = tuple(v / 4 for v in box)
        if shape == "ellipse":
            draw.ellipse(small_box, fill=value)
        else:
            draw.rectangle(small_box, fill=value)
    return mask.filter(ImageFilter.GaussianBlur(blur / 4)).resize((SIZE, SIZE), Image.Resampling.BICUBIC)


def _with_key_light(image: Image.Image, look: Look, horizon: int, light_x: float) -> Image.Image:
    cx, cy = light_x * SIZE, horizon * 0.45
    glow = _soft_mask(
        [("ellipse", (cx - 300, cy - 240, cx + 300, cy + 300), int(150 * look.brightness + 40))], 120
    )
    lit = ImageChops.screen(image, Image.new("RGB", image.size, _scale(look.light, 0.55)))
    return Image.composite(lit, image, glow)


def _with_window_light(image: Image.Image, look: Look, horizon: int, rng: random.Random) -> Image.Image:
    """Sunlight through window panes falling on the wall."""
    left = rng.uniform(60, SIZE - 360)
    top = rng.uniform(40, horizon * 0.3)
    panes = []
    for row in range(2):
        for col in range(2):
            x, y = left + col * 150, top + row * 170
            panes.append(("rect", (x + col * 10, y, x + col * 10 + 140, y + 160), 150))
    mask = _soft_mask(panes, 14).transform(
        (SIZE, SIZE), Image.Transform.AFFINE, (1, 0.25, -40, 0, 1, 0), Image.Resampling.BILINEAR
    )
    lit = ImageChops.screen(image, Image.new("RGB", image.size, _scale(look.light, 0.6)))
    return Image.composite(lit, image, mask)


def _with_foliage(image: Image.Image, rng: random.Random) -> Image.Image:
    """Out-of-focus leaves at the edges, as if shot past a plant."""
    leaves = []
    for _ in range(rng.randint(10, 16)):
        side = rng.choice((-1, 1))
        x = (0 if side < 0 else SIZE) + side * rng.uniform(-160, 40)
        y = rng.uniform(-80, SIZE * 0.6)
        w, h = rng.uniform(80, 200), rng.uniform(40, 110)
        leaves.append(("ellipse", (x - w, y - h, x + w, y + h), rng.randint(120, 230)))
    mask = _soft_mask(leaves, 18)
    green = Image.new("RGB", image.size, (36 + rng.randint(0, 20), 78 + rng.randint(0, 30), 40))
    return Image.composite(green, image, mask)


def _with_neon(image: Image.Image, colour: RGB, horizon: int, rng: random.Random) -> Image.Image:
    cx, cy = rng.uniform(0.3, 0.7) * SIZE, horizon * rng.uniform(0.35, 0.5)
    radius = rng.uniform(110, 170)
    ring = ("ellipse", (cx - radius, cy - radius, cx + radius, cy + radius))
    tube = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(tube).ellipse(ring[1], outline=255, width=9)
    glow = tube.resize((_SMALL, _SMALL), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(9))
    glow = glow.point(lambda v: min(255, v * 5)).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    image = Image.composite(Image.new("RGB", image.size, colour), image, glow.point(lambda v: v * 3 // 4))
    core = Image.new("RGB", image.size, _towards(colour, (255, 255, 255), 0.7))
    return Image.composite(core, image, tube.filter(ImageFilter.GaussianBlur(1.5)))


def _with_shadows(image: Image.Image, horizon: int, light_x: float, rng: random.Random) -> Image.Image:
    """A contact shadow where a product would stand, and its longer cast shadow away from the light."""
    cx = SIZE / 2 + rng.uniform(-40, 40)
    cy = horizon + (SIZE - horizon) * rng.uniform(0.35, 0.5)
    away = (0.5 - light_x) * 260
    shapes = [
        ("ellipse", (cx - 150 + away, cy - 40, cx + 150 + away, cy + 20), 70),
        ("ellipse", (cx - 120, cy - 18, cx + 120, cy + 18), 150),
    ]
    mask = _soft_mask(shapes, 26)
    return Image.composite(Image.new("RGB", image.size, (20, 18, 16)), image, mask)


def _with_vignette(image: Image.Image, brightness: float) -> Image.Image:
    edge = Image.radial_gradient("L").resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    strength = 0.35 + 0.4 * (1 - brightness)
    shade = edge.point(lambda v: int(min(255, max(0, (v - 60) * strength * 1.6))))
    image = Image.composite(Image.new("RGB", image.size, (0, 0, 0)), image, shade)
    if brightness < 1:
        image = Image.blend(Image.new("RGB", image.size, (8, 10, 26)), image, 0.35 + 0.65 * brightness)
    return image
