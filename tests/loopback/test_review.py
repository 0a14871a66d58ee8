"""Review exports with originals from the sandbox CDN."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from typing import Any

from PIL import Image

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from qamera_widgets.engine.review import (
    MarkBook,
    collect_originals,
    review_rows,
    review_zip,
)


async def test_originals_from_the_sandbox_cdn_go_into_a_zip_with_their_review(
    make_sandbox: Callable[..., Any],
) -> None:
    sandbox = make_sandbox(library=4)
    async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, max_retries=0) as client:
        sceneries = await client.list_sceneries()
    book = MarkBook(sandbox.base_url, "k")
    book.mark(sceneries[0], flag="pick", stars=5)
    rows = review_rows(sceneries, book.marks())
    loader = ThumbnailLoader(size=64)
    try:
        pictures, skipped = await collect_originals(rows, loader.original)
    finally:
        await loader.aclose()
    done = [r["id"] for r in rows if r["status"] == "DONE" and r["thumbnail"]]
    assert sorted(pictures) == sorted(done) and sorted(skipped) == sorted(
        set(r["id"] for r in rows) - set(done)
    )
    with zipfile.ZipFile(io.BytesIO(review_zip(rows, pictures))) as archive:
        table = list(csv.DictReader(io.StringIO(archive.read("review.csv").decode("utf-8"), newline="")))
        for row in table:
            if row["file"]:
                with Image.open(io.BytesIO(archive.read(row["file"]))) as image:
                    image.verify()
    assert {r["id"]: (r["flag"], r["stars"]) for r in table}[sceneries[0].id] == ("pick", "5")
