// The head's toolbar (library: status and review filters, search, order, refresh, count; both modes:
// your marks as filters and the Export menu), the message line under it and the pager. Each is made
// once (again only when the mode changes) and then brought up to the traits in place, so a trait
// arriving never closes a menu or takes the focus or the caret from a control.

import { button, h } from "../shared/dom.js";
import { send } from "../shared/protocol.js";
import { menuButton, setUsable } from "./menu.js";

/** @typedef {ReturnType<typeof import("../shared/dom.js").traits<import("../shared/types.js").CanvasModel>>} CanvasTraits */

// Each filter's values (the traits' own, checked in Python) and what the person reads for them, in order.
const VOTES = { all: "Any", approved: "Approved", rejected: "Rejected", "not reviewed": "Not reviewed" };
const MARKS = { all: "Any mark", picks: "Picks", rejects: "Rejects", unmarked: "Unmarked" };
// Short enough to keep the toolbar one row ("3+ stars" reads as "3 stars or more").
const STARS = { 0: "Any stars", 1: "1+ stars", 2: "2+ stars", 3: "3+ stars", 4: "4+ stars", 5: "5 stars" };
const STATES = { all: "Any status", done: "Done", "in progress": "In progress", failed: "Failed" };
const SORTS = { newest: "Newest first", oldest: "Oldest first", name: "By name", rating: "By your stars" };

/**
 * A labelled choice; its value is set by the toolbar's `draw`.
 * @param {string} className
 * @param {string} label
 * @param {Record<string, string>} choices
 * @param {(value: string) => void} onChange
 */
function select(className, label, choices, onChange) {
  const node = h("select", `qw-select ${className}`);
  node.setAttribute("aria-label", label);
  for (const [value, text] of Object.entries(choices)) {
    const option = h("option", "", text);
    option.value = value;
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

const NO_PICKS = "Nothing picked yet: press P on a picture to pick it";
const PICKS_ITEMS = [
  ["qw-picks-sheet", "One image of the pictures you picked"],
  ["qw-picks-zip", "The originals of the pictures you picked, with review.csv beside them"],
];

/**
 * Your marks as filters, and the review's downloads folded into one "Export" menu: the same in the
 * library and the runs. The filters are used all the time and stay in sight; the exports are used once
 * at the end of a review, so they take one button's width instead of three.
 * @param {CanvasTraits} t
 * @param {(msg: object) => void} sendMsg
 */
function reviewTools(t, sendMsg) {
  const marks = select("qw-mark-filter", "Your marks", MARKS, (v) =>
    t.set("mark_filter", /** @type {"all" | "picks" | "rejects" | "unmarked"} */ (v)),
  );
  const stars = select("qw-stars-filter", "At least this many of your stars", STARS, (v) =>
    t.set("min_stars", Number(v)),
  );
  /** @type {HTMLElement[]} */
  const filters = [group("qw-group-marks", "Your marks", [marks, stars])];
  /** @type {HTMLButtonElement | null} */
  let best = null;
  if (t.get("mode", "library") === "runs") {
    best = button(
      "Best first",
      "qw-rating-first",
      () => t.set("rating_first", !t.get("rating_first", false)),
      "Your highest-rated pictures first in each run",
    );
    filters.push(best);
  }
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
      },
      {
        label: "Picks as zip",
        className: "qw-picks-zip",
        onSelect: () => sendMsg(send.download("picks_zip", [])),
      },
    ],
  });
  const draw = () => {
    marks.value = t.get("mark_filter", "all");
    stars.value = String(t.get("min_stars", 0));
    if (best) {
      const on = t.get("rating_first", false);
      best.classList.toggle("qw-on", on);
      best.setAttribute("aria-pressed", String(on));
    }
  };
  /** The picks' exports say why they do nothing while nothing is picked. */
  const drawMarks = () => {
    const picked = Object.values(t.get("marks", {})).some((m) => m.flag === "pick");
    for (const [className, title] of PICKS_ITEMS) {
      const entry = exports.querySelector(`.${className}`);
      if (entry instanceof HTMLElement) setUsable(entry, picked ? undefined : NO_PICKS, title);
    }
  };
  return { filters, exports, draw, drawMarks };
}

/**
 * The toolbar in `tools` and the title in `titleNode`.
 * @param {HTMLElement} titleNode
 * @param {HTMLElement} tools
 * @param {CanvasTraits} t
 * @param {(msg: object) => void} sendMsg
 */
export function createToolbar(titleNode, tools, t, sendMsg) {
  let mode = "";
  /** @type {() => void} */
  let drawValues = () => {};
  /** @type {() => void} */
  let drawMarks = () => {};
  /** @type {HTMLElement | null} */
  let count = null;

  /** The controls of this mode, made anew (the library has more than the runs). */
  function build() {
    mode = t.get("mode", "library");
    const review = reviewTools(t, sendMsg);
    drawMarks = review.drawMarks;
    count = null;
    if (mode !== "library") {
      tools.replaceChildren(...review.filters, review.exports);
      drawValues = review.draw;
      return;
    }
    const state = select("qw-state-filter", "Generation status", STATES, (v) => t.set("state_filter", v));
    const vote = select("qw-vote-filter", "The service's review", VOTES, (v) => t.set("vote_filter", v));
    const groups = [
      group("qw-group-status", "Generation status", [state]),
      group("qw-group-vote", "Service's review", [vote]),
    ];
    const search = h("input", "qw-input qw-search");
    search.type = "search";
    search.placeholder = "Search prompts and names";
    search.setAttribute("aria-label", "Search prompts and names");
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let searchTimer;
    search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => t.set("search", search.value), 200);
    });
    const sort = select("qw-sort", "Order", SORTS, (v) => t.set("sort", v));
    const refresh = button("↻ Refresh", "qw-refresh", () => sendMsg(send.refresh()), "Load the list again");
    count = h("span", "qw-count");
    tools.replaceChildren(...groups, ...review.filters, search, sort, refresh, count, review.exports);
    drawValues = () => {
      state.value = t.get("state_filter", "all");
      vote.value = t.get("vote_filter", "all");
      sort.value = t.get("sort", "newest");
      // Typing goes to Python after a pause: the box is not set back while a person is in it.
      if (document.activeElement !== search) search.value = t.get("search", "");
      review.draw();
    };
  }

  return {
    /** The filters, the order and the search as the traits say (made again when the mode changed). */
    draw() {
      if (t.get("mode", "library") !== mode) {
        build();
        drawMarks();
      }
      drawValues();
      const text = t.get("count_text", "");
      if (count && count.textContent !== text) count.textContent = text;
    },
    drawTitle() {
      titleNode.textContent = t.get("title", "");
    },
    drawMarks: () => drawMarks(),
  };
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
 * The pager, made once: Previous and Next keep their focus as the page turns.
 * @param {HTMLElement} pager
 * @param {CanvasTraits} t
 */
export function createPager(pager, t) {
  const page = () => t.get("page", 0);
  const pages = () => t.get("page_count", 1);
  const prev = button("‹ Previous", "qw-prev", () => t.set("page", Math.max(0, page() - 1)));
  const label = h("span", "qw-page-label");
  const next = button("Next ›", "qw-next", () => t.set("page", Math.min(pages() - 1, page() + 1)));
  pager.append(prev, label, next);
  const draw = () => {
    pager.hidden = t.get("mode", "library") !== "library" || pages() <= 1;
    prev.disabled = page() <= 0;
    next.disabled = page() >= pages() - 1;
    label.textContent = `Page ${page() + 1} of ${pages()}`;
  };
  draw();
  return { draw };
}
