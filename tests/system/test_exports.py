"""The worst contact sheet, drawn in a child process whose memory is measured."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from qamera_widgets.engine.pictures import sheets as exports

ROOT = Path(__file__).resolve().parents[2]


def test_the_worst_sheet_stays_within_its_memory_bound() -> None:
    """The most tiles with the longest captions, from 1024 px thumbnails: RSS growth measured in a fresh
    process, against the pixel cap's cost with a margin (the old sheet grew with thumb_px without bound)."""
    script = textwrap.dedent(
        """
        import io, resource
        from PIL import Image
        from qamera_widgets.engine.pictures import sheets as exports
        from qamera_widgets.engine.pictures.imaging import make_thumbnail
        out = io.BytesIO(); Image.new("RGB", (1024, 1024), (9, 99, 199)).save(out, "PNG")
        tile = make_thumbnail(out.getvalue(), 1024)
        tiles = [exports.SheetTile("walnut " * 400, tile, "pick", 5)] * exports.MAX_SHEET_TILES
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sheet = exports.contact_sheet(tiles)
        data = exports.sheet_bytes(sheet, "png")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(sheet.width * sheet.height, (after - before) // 1024)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=300
    )
    pixels, grown_mb = (int(x) for x in done.stdout.split())
    assert pixels <= exports.MAX_SHEET_PIXELS
    assert grown_mb < 3 * exports.MAX_SHEET_PIXELS * 3 // 2**20, done.stdout
