"""The picture cache on disk (a real diskcache folder): a restarted kernel paints without the CDN, failures
are never kept as pictures, the byte bound holds with the least recently used out first, and a tampered
cache is only ever a miss."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import httpx

from qamera_widgets.engine.pictures.disk_cache import PictureCache, forget_caches, picture_cache
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from tests._images import photo_jpeg
from tests.unit.test_thumbnails import FakeCdn, loader_for

PHOTO = photo_jpeg()


async def test_a_new_kernel_paints_thumbnails_and_previews_from_disk_without_the_cdn() -> None:
    cdn = FakeCdn()
    first = loader_for(cdn)
    urls = [f"https://cdn.test/{n}.jpg" for n in range(5)]
    made = [await first.load(u) for u in urls]
    big = await first.preview(urls[0], max_px=640)
    await first.aclose()
    assert len(cdn.requests) == 6

    forget_caches()  # a new kernel: a new connection to the same folder, an empty memory cache
    offline = FakeCdn(lambda request: httpx.Response(503))
    second = loader_for(offline)
    again = [await second.load(u) for u in urls]
    big_again = await second.preview(urls[0], max_px=640)
    assert offline.requests == []
    assert [t.data for t in again] == [t.data for t in made] and big_again.data == big.data
    assert (big_again.width, big_again.height) == (big.width, big.height)
    assert all(t.placeholder is None and t.source_bytes == 0 for t in again)
    assert second.stats["disk_hits"] == 6
    # Another size or format is another entry: it is fetched.
    await second.load(urls[0], size=64)
    assert len(offline.requests) >= 1
    await second.aclose()


async def test_a_failure_is_never_kept_as_a_picture() -> None:
    broken = FakeCdn(lambda request: httpx.Response(500))
    loader = loader_for(broken, retries=0)
    tile = await loader.load("https://cdn.test/x.jpg")
    assert tile.placeholder == "failed"
    assert await loader.preview("https://cdn.test/x.jpg") == loader.placeholder("failed")
    assert picture_cache().stats()["entries"] == 0
    await loader.aclose()

    forget_caches()
    fixed = FakeCdn()
    later = loader_for(fixed)
    assert (await later.load("https://cdn.test/x.jpg")).placeholder is None
    assert fixed.count("https://cdn.test/x.jpg") == 1
    await later.aclose()


def test_the_byte_bound_holds_and_the_least_recently_used_goes_first(tmp_path: Path) -> None:
    limit = 1_000_000
    cache = PictureCache(tmp_path / "pictures", limit_bytes=limit)
    blob = os.urandom(5_000)
    cache.put("jpeg", "https://cdn.test/kept.jpg", 176, blob, "jpeg", 176, 176)
    for n in range(1200):  # 6 MB through a 1 MB cache, the first picture read all along
        cache.put("jpeg", f"https://cdn.test/{n}.jpg", 176, blob, "jpeg", 176, 176)
        assert cache.get("jpeg", "https://cdn.test/kept.jpg", 176) is not None
    stats = cache.stats()
    on_disk = sum(p.stat().st_size for p in (tmp_path / "pictures").iterdir() if p.name == "cache.db")
    assert stats["bytes"] <= limit and on_disk <= limit
    assert 50 < stats["entries"] < 200
    assert cache.get("jpeg", "https://cdn.test/0.jpg", 176) is None  # the oldest unread ones went
    assert cache.get("jpeg", "https://cdn.test/1199.jpg", 176) is not None
    assert cache.prune() == stats["entries"] and cache.stats()["entries"] == 0
    cache.close()


def test_a_tampered_cache_is_a_miss_and_never_unpickled_or_followed(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    cache = PictureCache(folder, limit_bytes=10_000_000)
    cache.put("jpeg", "https://cdn.test/a.jpg", 176, PHOTO, "jpeg", 176, 176)
    cache.close()
    canary = tmp_path / "canary"
    with sqlite3.connect(folder / "cache.db") as db:
        # mode 4 is a pickle; mode 2 a file named by the row: neither may be read or removed
        db.execute(
            "UPDATE Cache SET mode = 4, value = ?",
            (b"cos\nsystem\n(S'touch " + str(canary).encode() + b"'\ntR.",),
        )
    reopened = PictureCache(folder, limit_bytes=10_000_000)
    assert reopened.get("jpeg", "https://cdn.test/a.jpg", 176) is None
    assert not canary.exists()
    reopened.close()


def test_a_cache_folder_that_cannot_be_used_turns_the_cache_off_not_the_pictures(tmp_path: Path) -> None:
    (tmp_path / "pictures").write_text("a file where the folder should be")
    cache = PictureCache(tmp_path / "pictures")
    assert cache.get("jpeg", "https://cdn.test/a.jpg", 176) is None
    cache.put("jpeg", "https://cdn.test/a.jpg", 176, PHOTO, "jpeg", 176, 176)  # never raises
    assert cache.stats()["entries"] == 0


def test_a_loader_without_a_disk_cache_writes_nothing(tmp_path: Path) -> None:
    loader = ThumbnailLoader(pictures=None)
    assert loader.stats["disk_hits"] == 0
    assert not (Path(os.environ["QAMERA_WIDGETS_HOME"]) / "pictures").exists()
