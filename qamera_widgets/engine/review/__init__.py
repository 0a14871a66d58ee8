"""Review: a person's marks on pictures (pick / reject, 0-5 stars), kept per account, and what follows
from them: filters and sort, review rows and their exports, and the keys that set them.

- `marks`: the `Mark` model, validation that names the fix (`MarkError`), filters and sort.
- `book`: `MarkBook`, one per (base URL, key id) in the process (`mark_book`), backed by a `MarkStore`.
- `export`: `review_rows`, `export_review` (.csv / .json), the zip of originals with its CSV.
- `keys`: the key map as data (`key_intent`, `keymap_table`, `help_rows`).
"""

from .book import MarkBook, MarkStore, MemoryMarkStore, mark_book, mark_books, open_default_store, use_store
from .export import (
    MAX_ZIP_BYTES,
    REVIEW_COLUMNS,
    Origin,
    ReviewRow,
    collect_originals,
    export_review,
    origins_of,
    picture_file_name,
    review_csv,
    review_json,
    review_rows,
    review_zip,
)
from .keys import (
    Intent,
    compare_ids,
    help_rows,
    help_text,
    intent_from_message,
    key_intent,
    keymap_table,
    mark_targets,
)
from .marks import (
    FLAGS,
    MARK_FILTERS,
    MAX_STARS,
    Mark,
    MarkError,
    MarkRequest,
    filter_by_marks,
    mark_request,
    marks_from_trait,
    marks_trait,
    request_from_message,
    sort_by_rating,
)

__all__ = [
    "FLAGS",
    "MARK_FILTERS",
    "MAX_STARS",
    "MAX_ZIP_BYTES",
    "REVIEW_COLUMNS",
    "Intent",
    "Mark",
    "MarkBook",
    "MarkError",
    "MarkRequest",
    "MarkStore",
    "MemoryMarkStore",
    "Origin",
    "ReviewRow",
    "collect_originals",
    "compare_ids",
    "export_review",
    "filter_by_marks",
    "help_rows",
    "help_text",
    "intent_from_message",
    "key_intent",
    "keymap_table",
    "mark_book",
    "mark_books",
    "mark_request",
    "mark_targets",
    "marks_from_trait",
    "marks_trait",
    "open_default_store",
    "origins_of",
    "picture_file_name",
    "request_from_message",
    "review_csv",
    "review_json",
    "review_rows",
    "review_zip",
    "sort_by_rating",
    "use_store",
]
