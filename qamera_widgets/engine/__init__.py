"""What runs beside a notebook's cells and what it keeps, by subject:

- `jobs/`: a Generate from plan to final status: planning and templates, the submit machine, budgets, the
  one poller (`tracking`), runs and their headers, "Retry N failed", the journal of submitted jobs.
- `pictures/`: pictures from the CDN to the screen and back out: fetching, image work, the loader, the disk
  cache, the large view's previews, the product cutout, contact sheets and zips.
- `review/`: a person's marks, the keys that set them, and a review's exports.
- `store/`: the one SQLite file of jobs, marks and budgets; nothing else touches it.

Beside them, the few models every view shares: `cards` (what a card says), `wording` (the shared
sentences), `search` (the library's words), `account` (the sandbox's ledger, said live) and `data_folder`
(what `qamera-widgets store` reports). Nothing here draws or holds traitlets: the widgets do.
"""
