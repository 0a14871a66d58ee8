"""Pictures, from the CDN to the screen and back out as files.

- `fetching`: which URLs may be fetched, the per-loop session, the bounded GET with retries.
- `imaging`: bytes in, bytes out: decoding web formats within a pixel budget, thumbnails, previews,
  placeholders (pure).
- `loader`: `ThumbnailLoader`, one download per URL and size, cached, never raising in a cell.
- `disk_cache`: thumbnails and previews kept on disk across kernel restarts.
- `versions`: which picture version each card holds and what to send the browser next.
- `previews`: the large view's pictures at the size the browser shows.
- `product`: a product cutout checked and made small.
- `sheets`: contact sheets and zips of originals.
"""
