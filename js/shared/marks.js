// Marks on pictures (pick / reject, 0-5 stars) and the keys that set them, in the grid and in the large
// view. The key map is Python's (engine.review.keymap_table, the `keymap` trait): nothing here types a
// key twice. A key press sends the `mark` intent and draws the mark at once (the store's `pending`);
// Python checks it, stores it in the `marks` trait and answers `marked`, which settles what was drawn
// ahead (a refused mark disappears again).

import { h } from "./dom.js";
import { send } from "./protocol.js";

/**
 * @typedef {{flag: "pick" | "reject" | "", stars: number}} Mark
 * @typedef {{keys: string[], intent: string, contexts: string[], label?: string, does?: string,
 *   stars?: number}} Binding
 * @typedef {{name: string, stars?: number, advance: boolean}} Intent
 */

/** The large view moves on after a mark by default; the grid does not (engine.review.keys). */
const ADVANCE_BY_DEFAULT = Object.freeze({ grid: false, large: true });
const MARK_INTENTS = new Set(["pick", "reject", "clear_flag", "stars", "clear_stars"]);
const ALIASES = Object.freeze({
  " ": "Space",
  Spacebar: "Space",
  Esc: "Escape",
  Left: "ArrowLeft",
  Right: "ArrowRight",
  Add: "+",
  Subtract: "-",
});
/** @type {Mark} */
const NO_MARK = Object.freeze({ flag: "", stars: 0 });

/**
 * One name per key, as Python's normalize_key: letters in lower case, "Digit3"/"Numpad3" as "3".
 * @param {string} key
 */
export function normalizeKey(key) {
  if (/^(Digit|Numpad)\d$/.test(key)) return key.slice(-1);
  const named = /** @type {Record<string, string>} */ (ALIASES)[key] || key;
  return named.length === 1 ? named.toLowerCase() : named;
}

/**
 * What a key press asks for in `context` ("grid" or "large"), or null: Python's key_intent.
 * @param {Binding[]} keymap
 * @param {{key: string, shiftKey?: boolean, ctrlKey?: boolean, altKey?: boolean, metaKey?: boolean}} event
 * @param {"grid" | "large"} context
 * @param {boolean} [autoAdvance] the large view's toggle (undefined: the context's default)
 * @returns {Intent | null}
 */
export function intentOf(keymap, event, context, autoAdvance) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  const key = normalizeKey(event.key);
  const binding = keymap.find((b) => b.keys.includes(key) && b.contexts.includes(context));
  if (!binding) return null;
  if (!MARK_INTENTS.has(binding.intent)) return { name: binding.intent, advance: false };
  const advance = autoAdvance === undefined ? ADVANCE_BY_DEFAULT[context] : autoAdvance;
  return { name: binding.intent, stars: binding.stars, advance: advance !== Boolean(event.shiftKey) };
}

/**
 * The (flag, stars) a mark intent sets; null leaves that part as it is.
 * @param {Intent} intent
 * @returns {{flag: string | null, stars: number | null}}
 */
export function markOf(intent) {
  if (intent.name === "pick") return { flag: "pick", stars: null };
  if (intent.name === "reject") return { flag: "reject", stars: null };
  if (intent.name === "clear_flag") return { flag: "", stars: null };
  if (intent.name === "stars") return { flag: null, stars: intent.stars ?? 0 };
  return { flag: null, stars: 0 };
}

/**
 * Which pictures a mark key marks: the whole selection when the focused one is in it, else the focused.
 * @param {string | null | undefined} focusedId
 * @param {string[]} selectedIds
 */
export function markTargets(focusedId, selectedIds) {
  if (focusedId && selectedIds.includes(focusedId)) return [...new Set(selectedIds)];
  return focusedId ? [focusedId] : [];
}

/**
 * The badge drawn on a card's tile: a flag and stars, or null for an unmarked picture.
 * @param {Mark | undefined} mark
 */
export function markBadge(mark) {
  if (!mark || (!mark.flag && !mark.stars)) return null;
  const badge = h("div", `qw-mark${mark.flag ? ` qw-mark-${mark.flag}` : ""}`);
  badge.dataset.mark = `${mark.flag}${mark.stars}`;
  const words = [];
  if (mark.flag) {
    badge.append(h("span", "qw-mark-flag", mark.flag === "pick" ? "✓ Pick" : "✕ Reject"));
    words.push(mark.flag === "pick" ? "Picked" : "Rejected");
  }
  if (mark.stars) {
    badge.append(h("span", "qw-mark-stars", "★".repeat(mark.stars)));
    words.push(`${mark.stars} ${mark.stars === 1 ? "star" : "stars"}`);
  }
  badge.title = `Your mark: ${words.join(", ")}`;
  badge.setAttribute("aria-label", badge.title);
  return badge;
}

/**
 * Puts the badge of `mark` into `parent` (first or last), replacing the one there; nothing changes when
 * it already shows that mark.
 * @param {Element} parent
 * @param {Mark | undefined} mark
 * @param {"first" | "last"} where
 */
export function placeBadge(parent, mark, where) {
  const old = [...parent.children].find((node) => node.classList.contains("qw-mark"));
  const next = markBadge(mark);
  if (/** @type {HTMLElement | undefined} */ (old)?.dataset.mark === next?.dataset.mark) return;
  if (old && next) old.replaceWith(next);
  else if (old) old.remove();
  else if (next) parent[where === "first" ? "prepend" : "append"](next);
}

/**
 * The view's marks: Python's (`marks`) with the ones drawn ahead of its answer (the store's `pending`)
 * laid over them. Each `mark` message Python answers with one `marked`, in order: the answer settles the
 * marks that message drew (kept ones now show Python's equal value, refused ones fall back to it).
 * @param {import("./store.js").UiStore} store
 * @param {ReturnType<typeof import("./dom.js").traits<import("./types.js").CanvasModel>>} t the view's traits
 * @param {(msg: object) => void} sendMsg
 */
export function createMarks(store, t, sendMsg) {
  let sent = 0;
  let answered = 0;

  /** @param {string} id @returns {Mark} */
  function get(id) {
    return store.get("pending").get(id)?.mark || t.get("marks", {})[id] || NO_MARK;
  }

  /**
   * Marks `ids` as `intent` says: drawn now, sent to Python to check and keep.
   * @param {string[]} ids
   * @param {Intent} intent
   */
  function apply(ids, intent) {
    const { flag, stars } = markOf(intent);
    sent += 1;
    const pending = new Map(store.get("pending"));
    for (const id of ids) {
      const old = get(id);
      const mark = {
        flag: /** @type {Mark["flag"]} */ (flag === null ? old.flag : flag),
        stars: stars === null ? old.stars : stars,
      };
      pending.set(id, { mark, seq: sent });
    }
    store.set("pending", pending);
    sendMsg(send.mark(ids, flag, stars));
  }

  /**
   * A key press on a focused card ("grid") or in the large view ("large"): marks, and says what else
   * the key asks for (the caller moves on when `advance`, toggles on "toggle_select", ...).
   * @param {KeyboardEvent} event
   * @param {{context: "grid" | "large", focusedId: string | null | undefined, selectedIds: string[],
   *   autoAdvance?: boolean}} where
   * @returns {Intent | null} null when the key means nothing here (the browser keeps it)
   */
  function handleReviewKey(event, where) {
    const intent = intentOf(t.get("keymap", []), event, where.context, where.autoAdvance);
    if (!intent) return null;
    if (MARK_INTENTS.has(intent.name)) {
      const ids = markTargets(where.focusedId, where.selectedIds);
      if (!ids.length) return null;
      apply(ids, intent);
    }
    event.preventDefault();
    event.stopPropagation();
    return intent;
  }

  /**
   * Python answered this view's oldest unanswered `mark` (a `marked` message). Every view of a model
   * hears every answer: one arriving while this view has nothing in flight is another view's.
   */
  function settle() {
    if (answered >= sent) return;
    answered += 1;
    const pending = store.get("pending");
    const left = new Map([...pending].filter(([, p]) => p.seq > answered));
    if (left.size !== pending.size) store.set("pending", left);
  }

  return { get, apply, handleReviewKey, settle };
}

/**
 * The ids whose shown mark may differ between two states: keys of either side whose values differ.
 * @template V
 * @param {ReadonlyMap<string, V> | Record<string, V>} before
 * @param {ReadonlyMap<string, V> | Record<string, V>} after
 */
export function changedIds(before, after) {
  const a = before instanceof Map ? before : new Map(Object.entries(before || {}));
  const b = after instanceof Map ? after : new Map(Object.entries(after || {}));
  /** @type {string[]} */
  const ids = [];
  for (const [id, value] of a)
    if (!b.has(id) || JSON.stringify(b.get(id)) !== JSON.stringify(value)) ids.push(id);
  for (const id of b.keys()) if (!a.has(id)) ids.push(id);
  return ids;
}
