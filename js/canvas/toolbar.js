// Library mode's toolbar (which list, status filter, search, order, refresh, count), the message
// line under it and the pager.

import { button, h } from "../dom.js";
import { send } from "../protocol.js";
import { menuButton } from "./menu.js";

/** @typedef {ReturnType<typeof import("../dom.js").traits<import("../types.js").CanvasModel>>} CanvasTraits */

// Each filter's values (the traits' own, checked in Python) and what the person reads for them, in order.
const VOTES = { all: "Any", approved: "Approved", rejected: "Rejected", "not reviewed": "Not reviewed" };
const MARKS = { all: "Any mark", picks: "Picks", rejects: "Rejects", unmarked: "Unmarked" };
// Short enough to keep the toolbar one row ("3+ stars" reads as "3 stars or more").
const STARS = { 0: "Any stars", 1: "1+ stars", 2: "2+ stars", 3: "3+ stars", 4: "4+ stars", 5: "5 stars" };
const STATES = { all: "Any status", done: "Done", "in progress": "In progress", failed: "Failed" };
const SORTS = { newest: "Newest first", oldest: "Oldest first", name: "By name", rating: "By your stars" };

/**
 * @param {string} className
 * @param {string} label
 * @param {Record<string, string>} choices
 * @param {string} current
 * @param {(value: string) => void} onChange
 */
function select(className, label, choices, current, onChange) {
  const node = h("select", `qw-select ${className}`);
  node.setAttribute("aria-label", label);
  for (const [value, text] of Object.entries(choices)) {
    const option = h("option", "", text);
    option.value = value;
    option.selected = current === value;
    node.append(option);
  }
  node.addEventListener("change", () => onChange(node.value));
  return node;
}

/**
 * A labelled group of controls: the label says what they filter by.
 * @param {string} className
 * @param {string} label
 * @param {HTMLElement[]} controls
 */
function group(className, label, controls) {
  const node = h("div", `qw-group ${className}`);
  node.setAttribute("role", "group");
  node.setAttribute("aria-label", label);
  node.append(h("span", "qw-group-label", label), ...controls);
  return node;
}

/**
 * Your marks as filters, and the review's downloads folded into one "Export" menu: the same in the
 * library and the runs. The filters are used all the time and stay in sight; the exports are used once
 * at the end of a review, so they take one button's width instead of three.
 * @param {CanvasTraits} t
 * @param {(msg: object) => void} sendMsg
 */
function reviewTools(t, sendMsg) {
  const marks = select("qw-mark-filter", "Your marks", MARKS, t.get("mark_filter", "all"), (v) =>
    t.set("mark_filter", /** @type {"all" | "picks" | "rejects" | "unmarked"} */ (v)),
  );
  const stars = select(
    "qw-stars-filter",
    "At least this many of your stars",
    STARS,
    String(t.get("min_stars", 0)),
    (v) => t.set("min_stars", Number(v)),
  );
  /** @type {HTMLElement[]} */
  const filters = [group("qw-group-marks", "Your marks", [marks, stars])];
  if (t.get("mode", "library") === "runs") {
    const best = button(
      "Best first",
      t.get("rating_first", false) ? "qw-on qw-rating-first" : "qw-rating-first",
      () => t.set("rating_first", !t.get("rating_first", false)),
      "Your highest-rated pictures first in each run",
    );
    best.setAttribute("aria-pressed", String(t.get("rating_first", false)));
    filters.push(best);
  }
  const picked = Object.values(t.get("marks", {})).some((m) => m.flag === "pick");
  const noPicks = picked ? undefined : "Nothing picked yet: press P on a picture to pick it";
  const exports = menuButton({
    label: "⤓ Export",
    className: "qw-export-menu",
    title: "Download the review as a CSV, or your picks as a contact sheet or a zip",
    items: [
      {
        label: "Review as CSV",
        className: "qw-export-review",
        onSelect: () => sendMsg(send.download("review", [])),
        title: "A CSV with one row per picture: prompt, run, your flag and stars, status, the service's vote",
      },
      {
        label: "Picks as contact sheet",
        className: "qw-picks-sheet",
        onSelect: () => sendMsg(send.download("picks_sheet", [])),
        title: "One image of the pictures you picked",
        disabled: noPicks,
      },
      {
        label: "Picks as zip",
        className: "qw-picks-zip",
        onSelect: () => sendMsg(send.download("picks_zip", [])),
        title: "The originals of the pictures you picked, with review.csv beside them",
        disabled: noPicks,
      },
    ],
  });
  return { filters, exports };
}

/**
 * @param {HTMLElement} titleNode
 * @param {HTMLElement} tools
 * @param {CanvasTraits} t
 * @param {(msg: object) => void} sendMsg
 */
export function drawTools(titleNode, tools, t, sendMsg) {
  titleNode.textContent = t.get("title", "");
  tools.replaceChildren();
  if (t.get("mode", "library") !== "library") {
    const { filters, exports } = reviewTools(t, sendMsg);
    tools.append(...filters, exports);
    return;
  }
  const state = select("qw-state-filter", "Generation status", STATES, t.get("state_filter", "all"), (v) =>
    t.set("state_filter", v),
  );
  const vote = select("qw-vote-filter", "The service's review", VOTES, t.get("vote_filter", "all"), (v) =>
    t.set("vote_filter", v),
  );
  const groups = [
    group("qw-group-status", "Generation status", [state]),
    group("qw-group-vote", "Service's review", [vote]),
  ];
  const search = h("input", "qw-input qw-search");
  search.type = "search";
  search.placeholder = "Search prompts and names";
  search.setAttribute("aria-label", "Search prompts and names");
  search.value = t.get("search", "");
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let searchTimer;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => t.set("search", search.value), 200);
  });
  const sort = select("qw-sort", "Order", SORTS, t.get("sort", "newest"), (v) => t.set("sort", v));
  const refresh = button("↻ Refresh", "qw-refresh", () => sendMsg(send.refresh()), "Load the list again");
  const count = h("span", "qw-count", t.get("count_text", ""));
  const { filters, exports } = reviewTools(t, sendMsg);
  tools.append(...groups, ...filters, search, sort, refresh, count, exports);
}

/**
 * Runs `fn` (which redraws the toolbar) and puts the focus and caret back into the search box.
 * @param {HTMLElement} el
 * @param {() => void} fn
 */
export function keepSearchFocus(el, fn) {
  const active = /** @type {HTMLInputElement | null} */ (document.activeElement);
  const wasSearch = Boolean(active?.classList?.contains("qw-search") && el.contains(active));
  const caret = wasSearch && active ? active.selectionStart : 0;
  fn();
  if (wasSearch) {
    const again = /** @type {HTMLInputElement | null} */ (el.querySelector(".qw-search"));
    if (again) {
      again.focus();
      again.setSelectionRange(caret, caret);
    }
  }
}

/**
 * @param {HTMLElement} node
 * @param {CanvasTraits} t
 */
export function drawMessage(node, t) {
  const text = t.get("message", "");
  node.textContent = text;
  node.hidden = !text;
  node.classList.toggle("qw-error", t.get("message_kind", "info") === "error");
}

/**
 * @param {HTMLElement} pager
 * @param {CanvasTraits} t
 */
export function drawPager(pager, t) {
  pager.replaceChildren();
  const pages = t.get("page_count", 1);
  if (t.get("mode", "library") !== "library" || pages <= 1) {
    pager.hidden = true;
    return;
  }
  pager.hidden = false;
  const page = t.get("page", 0);
  const prev = button("‹ Previous", "qw-prev", () => t.set("page", Math.max(0, page - 1)));
  prev.disabled = page <= 0;
  const next = button("Next ›", "qw-next", () => t.set("page", Math.min(pages - 1, page + 1)));
  next.disabled = page >= pages - 1;
  pager.append(prev, h("span", "qw-page-label", `Page ${page + 1} of ${pages}`), next);
}
