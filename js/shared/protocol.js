// The messages between Python and the browser, written once on this side; the Python side is
// qamera_widgets/widgets/protocol.py with the same names, and docs/protocol.md is the table.
// State travels as synced traits; these custom messages carry intents and binary pictures.

/** Every message kind, the same strings as Python's. */
export const KIND = Object.freeze({
  // canvas, browser -> Python
  HELLO: "hello",
  WANT: "want",
  ALIVE: "alive",
  REFRESH: "refresh",
  DOWNLOAD: "download",
  USE_PROMPT: "use_prompt",
  TOGGLE_RUN: "toggle_run",
  RUN_AGAIN: "run_again",
  USE_RUN_PROMPT: "use_run_prompt",
  RETRY_FAILED: "retry_failed",
  MORE_RUNS: "more_runs",
  MARK: "mark",
  // canvas, Python -> browser
  THUMBS: "thumbs",
  PATCH: "patch",
  PREVIEW: "preview",
  FILE: "file",
  PRODUCT: "product",
  MARKED: "marked",
  // form, browser -> Python
  GENERATE: "generate",
  CONFIRM: "confirm",
  RETRY: "retry",
  HISTORY: "history",
});

/**
 * A binary buffer of a message (ipywidgets hands them over as DataViews).
 * @typedef {ArrayBuffer | ArrayBufferView<ArrayBuffer>} Bytes
 */

/**
 * One picture in a "thumbs" or "patch" message; its bytes are the buffer at the same index.
 * @typedef {{id: string, v: number, fmt?: string}} PictureRef
 */

/**
 * @typedef {{kind: "thumbs", pictures?: PictureRef[]}} ThumbsMessage
 * @typedef {{kind: "patch", cards?: Array<Partial<import("./types.js").Card> & {id: string}>,
 *   pictures?: PictureRef[]}} PatchMessage
 * @typedef {{kind: "preview", id: string, fmt?: string, w?: number, h?: number}} PreviewMessage
 * @typedef {{kind: "product", fmt?: string, v?: number}} ProductMessage
 * @typedef {{kind: "file", name: string, mime: string, request?: string}} FileMessage
 * @typedef {{kind: "marked"}} MarkedMessage
 * @typedef {ThumbsMessage | PatchMessage | PreviewMessage | FileMessage | ProductMessage | MarkedMessage} ToBrowser
 */

/**
 * The pictures a "thumbs" or "patch" message carries, paired with their buffers.
 * @param {ThumbsMessage | PatchMessage} msg
 * @param {ReadonlyArray<Bytes>} buffers
 * @returns {Array<{ref: PictureRef, data: Bytes}>}
 */
export function picturesOf(msg, buffers) {
  const refs = Array.isArray(msg.pictures) ? msg.pictures : [];
  /** @type {Array<{ref: PictureRef, data: Bytes}>} */
  const out = [];
  refs.forEach((ref, index) => {
    const data = buffers[index];
    if (ref && typeof ref.id === "string" && typeof ref.v === "number" && data) out.push({ ref, data });
  });
  return out;
}

/**
 * @param {unknown} msg
 * @returns {msg is ToBrowser}
 */
export function isToBrowser(msg) {
  if (!msg || typeof msg !== "object") return false;
  const kind = /** @type {{kind?: unknown}} */ (msg).kind;
  return (
    kind === KIND.THUMBS ||
    kind === KIND.PATCH ||
    kind === KIND.PREVIEW ||
    kind === KIND.FILE ||
    kind === KIND.PRODUCT ||
    kind === KIND.MARKED
  );
}

/**
 * The downloads one view asked for. Every view of a model receives every message (a widget displayed
 * twice, or an output replaced by `view.update()`, still has its old view listening), so a download
 * carries a request id and only the view whose button was pressed saves the file that answers it.
 */
export class DownloadRequests {
  constructor() {
    this.view = Math.random().toString(36).slice(2, 10);
    this.asked = 0;
    /** @type {Set<string>} */
    this.pending = new Set();
  }

  /**
   * A download intent with this view's next request id; any other message as it is.
   * @param {object} msg
   */
  stamp(msg) {
    if (/** @type {{kind?: unknown}} */ (msg).kind !== KIND.DOWNLOAD) return msg;
    this.asked += 1;
    const request = `${this.view}-${this.asked}`;
    this.pending.add(request);
    return { ...msg, request };
  }

  /**
   * Whether this view asked for the file (once: a second answer to the same request is not saved).
   * @param {FileMessage} msg
   */
  claim(msg) {
    return typeof msg.request === "string" && this.pending.delete(msg.request);
  }
}

// What the browser sends: one builder per kind, so a field name is spelled once.
export const send = {
  /** @param {string[]} ids */
  hello: (ids = []) => ({ kind: KIND.HELLO, ids }),
  /** @param {string[]} ids @param {string | null} preview @param {string[]} [previews] to prefetch */
  want: (ids, preview, previews = []) =>
    previews.length ? { kind: KIND.WANT, ids, preview, previews } : { kind: KIND.WANT, ids, preview },
  /** A cutout chosen in the file picker; its bytes go as the one buffer. */
  product: () => ({ kind: KIND.PRODUCT }),
  alive: () => ({ kind: KIND.ALIVE }),
  refresh: () => ({ kind: KIND.REFRESH }),
  /** @param {"sheet" | "pdf" | "zip" | "review" | "picks_sheet" | "picks_zip"} what @param {string[]} ids */
  download: (what, ids) => ({ kind: KIND.DOWNLOAD, what, ids }),
  /** @param {string[]} ids @param {string | null} flag @param {number | null} stars */
  mark: (ids, flag, stars) => ({ kind: KIND.MARK, ids, flag, stars }),
  /** @param {string} id */
  usePrompt: (id) => ({ kind: KIND.USE_PROMPT, id }),
  /** @param {string} key */
  toggleRun: (key) => ({ kind: KIND.TOGGLE_RUN, key }),
  /** Without `yes`: ask (in the run's header); with it: the person's answer. @param {string} key @param {boolean} [yes] */
  runAgain: (key, yes) =>
    yes === undefined ? { kind: KIND.RUN_AGAIN, key } : { kind: KIND.RUN_AGAIN, key, yes },
  /** @param {string} key */
  useRunPrompt: (key) => ({ kind: KIND.USE_RUN_PROMPT, key }),
  moreRuns: () => ({ kind: KIND.MORE_RUNS }),
  /** "Retry N failed": without `yes` ask beside the button; with it the answer (Python counts). @param {string} key @param {boolean} [yes] */
  retryFailed: (key, yes) =>
    yes === undefined ? { kind: KIND.RETRY_FAILED, key } : { kind: KIND.RETRY_FAILED, key, yes },
  /** @param {string} prompt @param {number} count */
  generate: (prompt, count) => ({ kind: KIND.GENERATE, prompt, count }),
  /** @param {boolean} yes */
  confirm: (yes) => ({ kind: KIND.CONFIRM, yes }),
  retry: () => ({ kind: KIND.RETRY }),
  /** @param {number} index */
  history: (index) => ({ kind: KIND.HISTORY, index }),
};
