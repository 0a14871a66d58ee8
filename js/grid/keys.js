// What a person does to cards in the grid: a key on a focused card (marks through shared/marks.js,
// open, tick, Esc to clear the selection, ? for the keys, C to compare, moving), C anywhere in the view,
// and a tick of a card's box (Shift ticks the range from the card ticked before, the store's `anchor`).

import { h } from "../shared/dom.js";
import { drawnOrder } from "./grid.js";
import { ranged, toggled } from "./selection.js";

/**
 * @typedef {object} CardKeysContext
 * @property {HTMLElement} el the view's element
 * @property {HTMLElement} body where the cards are drawn (the keys panel goes above it)
 * @property {import("./toolbar.js").CanvasTraits} t
 * @property {import("../shared/store.js").UiStore} store
 * @property {ReturnType<typeof import("../shared/marks.js").createMarks>} marks
 * @property {(id: string) => HTMLElement | undefined} node a card's element
 * @property {(id: string) => void} open opens the large view
 * @property {() => boolean} compare opens the selection side by side
 */

/** @param {CardKeysContext} ctx */
export function createCardKeys(ctx) {
  const { t, store } = ctx;

  /** @param {string} id @param {number} delta */
  function focusStep(id, delta) {
    const order = drawnOrder(ctx.body);
    const at = order.indexOf(id);
    const next = order[at + delta];
    if (at >= 0 && next) ctx.node(next)?.focus();
  }

  /** @param {number} count Esc clears at once up to the limit Python sets, and asks above it */
  function clearSelection(count) {
    const limit = t.get("confirm_clear_above", 10);
    if (count > limit && !window.confirm(`Clear the selection of ${count} pictures?`)) return;
    t.set("selected_ids", []);
  }

  /** @param {KeyboardEvent} event C opens the selection side by side from anywhere in the view */
  const onViewKey = (event) => {
    if ((event.key !== "c" && event.key !== "C") || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    if (ctx.compare()) event.preventDefault();
  };
  ctx.el.addEventListener("keydown", onViewKey);

  /** @type {HTMLElement | null} */
  let panel = null;
  const stopHelp = store.subscribe("help", (id, before) => {
    panel?.remove();
    panel = null;
    if (id) {
      panel = helpPanel(t.get("key_help", []), () => store.set("help", ""));
      ctx.el.insertBefore(panel, ctx.body);
      panel.focus();
    } else ctx.node(before)?.focus();
  });

  return {
    /** A key on a focused card. @param {KeyboardEvent} event @param {string} id */
    key(event, id) {
      const selectedIds = t.get("selected_ids", []);
      const intent = ctx.marks.handleReviewKey(event, { context: "grid", focusedId: id, selectedIds });
      if (!intent) return;
      const name = intent.name;
      if (name === "open") ctx.open(id);
      else if (name === "toggle_select") {
        t.set("selected_ids", toggled(selectedIds, id, !selectedIds.includes(id)));
        store.set("anchor", id); // Shift+click then ticks the range from here
      } else if (name === "clear_selection") clearSelection(selectedIds.length);
      else if (name === "help") {
        store.set("help", "");
        store.set("help", id);
      } else if (name === "compare") ctx.compare();
      else if (name === "next" || name === "prev") focusStep(id, name === "next" ? 1 : -1);
      if (intent.advance) focusStep(id, 1);
    },

    /** A card's box ticked or unticked. @param {string} id @param {boolean} on @param {boolean} range */
    tick(id, on, range) {
      const anchor = store.get("anchor");
      const from = range && anchor ? anchor : id;
      t.set("selected_ids", ranged(t.get("selected_ids", []), drawnOrder(ctx.body), from, id, on));
      store.set("anchor", id);
    },

    dispose() {
      stopHelp();
      ctx.el.removeEventListener("keydown", onViewKey);
    },
  };
}

/**
 * The `?` panel: every key and what it does (the `key_help` trait, from Python's help_rows).
 * @param {Array<[string, string]>} rows
 * @param {() => void} onClose
 */
function helpPanel(rows, onClose) {
  const panel = h("div", "qw-keys-help");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Keys");
  panel.tabIndex = -1;
  const table = h("table", "qw-keys-table");
  for (const [keys, does] of rows) {
    const row = h("tr");
    const cell = h("td");
    cell.append(h("kbd", "", keys));
    row.append(cell, h("td", "", does));
    table.append(row);
  }
  const close = h("button", "qw-btn qw-keys-close", "Close");
  close.type = "button";
  close.addEventListener("click", onClose);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" || event.key === "?") {
      event.preventDefault();
      event.stopPropagation();
      onClose();
    }
  });
  panel.append(h("div", "qw-keys-title", "Keys"), table, close);
  return panel;
}
