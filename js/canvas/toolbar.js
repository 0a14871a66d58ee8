// Library mode's toolbar (which list, status filter, search, order, refresh, count), the message
// line under it and the pager.

import { button, h } from "../dom.js";
import { send } from "../protocol.js";

/** @typedef {ReturnType<typeof import("../dom.js").traits<import("../types.js").CanvasModel>>} CanvasTraits */

const SCOPES = [
  ["all", "All"],
  ["approved", "Approved"],
];
const STATES = [
  ["all", "Any status"],
  ["done", "Done"],
  ["in progress", "In progress"],
  ["failed", "Failed"],
];
const SORTS = [
  ["newest", "Newest first"],
  ["oldest", "Oldest first"],
  ["name", "By name"],
];

/**
 * @param {string} className
 * @param {string} label
 * @param {string[][]} choices
 * @param {string} current
 * @param {(value: string) => void} onChange
 */
function select(className, label, choices, current, onChange) {
  const node = h("select", `qw-select ${className}`);
  node.setAttribute("aria-label", label);
  for (const [value, text] of choices) {
    const option = h("option", "", text);
    option.value = value;
    option.selected = current === value;
    node.append(option);
  }
  node.addEventListener("change", () => onChange(node.value));
  return node;
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
  if (t.get("mode", "library") !== "library") return;
  const scope = h("div", "qw-segmented");
  scope.setAttribute("role", "group");
  scope.setAttribute("aria-label", "Which sceneries");
  const filter = t.get("status_filter", "all");
  for (const [value, label] of SCOPES) {
    const b = button(label, filter === value ? "qw-on" : "", () =>
      t.set("status_filter", /** @type {"all" | "approved"} */ (value)),
    );
    b.setAttribute("aria-pressed", String(filter === value));
    scope.append(b);
  }
  const state = select("qw-state-filter", "Generation status", STATES, t.get("state_filter", "all"), (v) =>
    t.set("state_filter", v),
  );
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
  tools.append(scope, state, search, sort, refresh, count);
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
