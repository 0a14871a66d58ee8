"""Review: a person's marks on pictures (pick / reject, 0-5 stars), kept per account, and what follows
from them: filters and sort, review rows and their exports, and the keys that set them.

- `book`: the `Mark` model and its checks that name the fix (`MarkError`), and `MarkBook`, one per
  (base URL, key id) in the process (`mark_book`), backed by a `MarkStore`.
- `marks`: the filters and sort by marks.
- `export`: `review_rows`, `export_review` (.csv / .json), the zip of originals with its CSV.
- `keys`: the key map as data (`key_intent`, `keymap_table`, `help_rows`).
"""

from .book import (
    FLAGS,
    MAX_STARS,
    Mark,
    MarkBook,
    MarkError,
    MarkRequest,
    MarkStore,
    MemoryMarkStore,
    mark_book,
    mark_books,
    mark_request,
    marks_from_trait,
    marks_trait,
    open_default_store,
    request_from_message,
    use_store,
)
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
from .marks import MARK_FILTERS, filter_by_marks, sort_by_rating

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
