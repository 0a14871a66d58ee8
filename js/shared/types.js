// The synced traits of each widget as the browser reads them (mirrors of the Python traitlets).
// Only typedefs: nothing here runs.

/**
 * One card (canvas.py `_card`).
 * @typedef {object} Card
 * @property {string} id
 * @property {string} [name]
 * @property {string} [prompt]
 * @property {string} state "waiting" | "queued" | "processing" | "done" | "failed" | ...
 * @property {string} [label]
 * @property {string} [vote]
 * @property {string} [created]
 * @property {number} [since] epoch ms the job started (0: unknown)
 * @property {number} [thumb] version of the picture the card shows (0: none yet)
 * @property {string} [run]
 */

/**
 * One row of a comparison (board.py `_run_dict`).
 * @typedef {object} CompareRow
 * @property {string} key
 * @property {string} prompt
 * @property {Array<[string, boolean]>} [parts]
 * @property {string[]} [ids]
 * @property {string} [progress]
 * @property {string} [credits]
 * @property {number[]} [cell] its word's index on each axis (runs.py `comparison_axes`)
 * @property {RetryLine[]} [retries] the row's retries, drawn in its cell after its own cards
 * @property {RetryOffer} [retry] the row's "Retry N failed" (board_actions.py `_with_retries`)
 */

/**
 * A slot of a comparison's template that varies: its words in the order they were sent.
 * @typedef {object} CompareAxis
 * @property {string} label
 * @property {string[]} values
 */

/**
 * One run header in "runs" mode (board.py `_run_dict` / `_comparison`).
 * @typedef {object} Run
 * @property {string} key
 * @property {string} [kind] "compare" for a comparison
 * @property {string} [prompt]
 * @property {boolean} [collapsed]
 * @property {string[]} [ids]
 * @property {CompareRow[]} [rows]
 * @property {CompareAxis[]} [axes]
 * @property {number} [total]
 * @property {number} [done]
 * @property {number} [failed]
 * @property {string} [meta]
 * @property {string} [credits]
 * @property {string} [progress]
 * @property {boolean} [use_prompt]
 * @property {string} [question] "Run again" asking, with the cost, beside its button
 * @property {RetryLine[]} [retries] the run's retries, drawn inside it (board_actions.py)
 * @property {RetryOffer} [retry] "Retry N failed": its count (0: not offered), question and note
 */

/**
 * One retry inside its run: "Retry · 2 pictures · 12:03:04" over its cards.
 * @typedef {object} RetryLine
 * @property {string} key
 * @property {string} text
 * @property {string} progress
 * @property {string[]} ids
 */

/**
 * @typedef {object} RetryOffer
 * @property {number} count the failed pictures a retry generates again (Python's count)
 * @property {string} question asked beside the button, with the cost ('' when not asking)
 * @property {string} note progress or a refusal beside the button
 * @property {string} note_kind "info" or "error"
 */

/**
 * What the large view shows about `open_id` (canvas.py `_on_open_id`).
 * @typedef {object} Preview
 * @property {string} [id]
 * @property {string} [name]
 * @property {string} [prompt]
 * @property {string} [state]
 * @property {string} [label]
 * @property {string} [vote]
 * @property {string} [created]
 * @property {string} [url]
 * @property {"none" | "loading" | "ready" | "failed"} [image]
 * @property {number} [w] the large picture's size, once ready
 * @property {number} [h]
 */

/**
 * ResultsCanvas (canvas.py) with SceneryGallery's (gallery.py) and StatusBoard's (board.py) traits.
 * @typedef {object} CanvasModel
 * @property {"library" | "runs"} mode
 * @property {boolean | null} [collapsed] a studio's library folded to its title line (null: not foldable)
 * @property {string} title
 * @property {Card[]} cards
 * @property {Run[]} runs
 * @property {{count?: number, text?: string}} folded_runs
 * @property {string[]} selected_ids
 * @property {string} open_id
 * @property {Preview} preview
 * @property {string} message
 * @property {"info" | "error"} message_kind
 * @property {number} thumb_px
 * @property {"small" | "medium" | "large"} thumb_size how large the grid draws thumbnails
 * @property {number} preview_px the longest side the large view fetches at (Python caps it)
 * @property {{w?: number, h?: number, v?: number}} product the product cutout held, {} when none
 * @property {boolean} can_use_prompt
 * @property {Record<string, import("./marks.js").Mark>} marks the person's marks (read-only here)
 * @property {import("./marks.js").Binding[]} keymap engine.review's key map
 * @property {Array<[string, string]>} key_help what `?` shows
 * @property {number} confirm_clear_above Esc asks before clearing a larger selection
 * @property {"all" | "picks" | "rejects" | "unmarked"} mark_filter
 * @property {number} min_stars
 * @property {boolean} rating_first
 * @property {string} vote_filter gallery: "all" | "approved" | "rejected" | "not reviewed"
 * @property {"all" | "approved"} status_filter gallery
 * @property {string} state_filter gallery
 * @property {string} search gallery
 * @property {string} sort gallery
 * @property {number} page gallery
 * @property {number} page_count gallery
 * @property {string} count_text gallery
 */

/**
 * PromptForm (form.py).
 * @typedef {object} FormModel
 * @property {string} prompt
 * @property {number} count
 * @property {number} min_count
 * @property {number} max_count
 * @property {number} max_prompt_chars
 * @property {number} price_per_picture
 * @property {boolean} submitting
 * @property {boolean} can_retry
 * @property {Array<{label: string, prompt: string, count?: number}>} history
 * @property {number} [focus_prompt] raised by "Edit" on a run: focus the prompt box
 * @property {Array<{text?: string, parts: Array<[string, boolean]>}>} variants
 * @property {string} cost
 * @property {string} prompt_error
 * @property {string} count_error
 * @property {string} plan
 * @property {string} confirm
 * @property {string} budget_text
 * @property {string} status
 * @property {string} status_kind
 * @property {string} batch_id
 * @property {string} heading
 * @property {string} badge
 * @property {string} notice
 * @property {string} account
 */

/** @typedef {import("@anywidget/types").AnyModel<CanvasModel>} CanvasAnyModel */
/** @typedef {import("@anywidget/types").AnyModel<FormModel>} FormAnyModel */

export {};
