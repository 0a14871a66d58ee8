"""The picture cache shared by two processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from qamera_widgets.engine.pictures.disk_cache import PictureCache

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_share_the_cache(tmp_path: Path) -> None:
    code = """
        import sys
        from qamera_widgets.engine.pictures.disk_cache import PictureCache
        cache = PictureCache(sys.argv[1], limit_bytes=50_000_000)
        for n in range(200):
            cache.put("jpeg", f"https://cdn.test/{sys.argv[2]}-{n}.jpg", 176, bytes(5000), "jpeg", 176, 176)
        """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    folder = str(tmp_path / "pictures")
    writers = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), folder, who], env=env) for who in "ab"
    ]
    assert [w.wait(300) for w in writers] == [0, 0]
    cache = PictureCache(folder, limit_bytes=50_000_000)
    assert cache.stats()["entries"] == 400
    assert cache.get("jpeg", "https://cdn.test/a-199.jpg", 176) is not None
    cache.close()
