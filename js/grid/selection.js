// The selection bar: shown only while something is selected (it takes no row of the screen from the
// pictures otherwise): how many, Compare for 2-4, the downloads of the selection in one menu, select all
// shown, clear. A card's checkbox or Space starts a selection.

import { button, h } from "../shared/dom.js";
import { send } from "../shared/protocol.js";
import { menuButton } from "./menu.js";

/**
 * The selection after adding every shown id (keeping the selection's order first).
 * @param {string[]} selected
 * @param {string[]} shown
 */
export function withAll(selected, shown) {
  const ids = [...selected];
  for (const id of shown) if (!ids.includes(id)) ids.push(id);
  return ids;
}

/**
 * The selection after ticking or unticking one card (a ticked card goes last).
 * @param {string[]} selected
 * @param {string} id
 * @param {boolean} on
 */
export function toggled(selected, id, on) {
  const ids = selected.filter((x) => x !== id);
  if (on) ids.push(id);
  return ids;
}

/**
 * The selection after Shift+click: every card from `from` to `to` in display order set to `on`
 * (a plain click, or `from` no longer drawn, is a toggle of `to` alone).
 * @param {string[]} selected
 * @param {string[]} order ids in display order
 * @param {string} from the card ticked before
 * @param {string} to the card ticked now
 * @param {boolean} on
 */
export function ranged(selected, order, from, to, on) {
  const a = order.indexOf(from);
  const b = order.indexOf(to);
  if (from === to || a < 0 || b < 0) return toggled(selected, to, on);
  let ids = selected;
  for (const id of order.slice(Math.min(a, b), Math.max(a, b) + 1)) ids = toggled(ids, id, on);
  return ids;
}

/**
 * What the bar says: how many are selected, and how many of those are folded away.
 * @param {string[]} selected
 * @param {Set<string>} drawn
 */
export function selectionLabel(selected, drawn) {
  if (!selected.length) return "Nothing selected";
  const away = selected.filter((id) => !drawn.has(id)).length;
  return away
    ? `${selected.length} selected · ${away} not in sight (folded or on another page)`
    : `${selected.length} selected`;
}

/**
 * What the selection bar needs from its view.
 * @typedef {object} SelectionContext
 * @property {() => string[]} selected the selected ids
 * @property {(ids: string[]) => void} setSelected
 * @property {() => string[]} shown ids of the cards that can be selected (failed ones cannot)
 * @property {() => Set<string>} drawn ids whose card is on screen (not folded away)
 * @property {() => boolean} canCompare whether the selection can open side by side (2-4 of this view)
 * @property {() => void} compare opens it side by side
 * @property {(msg: object) => void} send
 */

/**
 * The bar, made once; `draw` brings its count, Compare and its visibility up to the selection (its
 * controls are in the page only while something is selected).
 * @param {HTMLElement} bar
 * @param {SelectionContext} ctx
 */
export function createSelectionBar(bar, ctx) {
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Selection");
  const label = h("span", "qw-selected-count");
  label.setAttribute("aria-live", "polite");
  const compare = button("Compare (C)", "qw-compare-open", () => ctx.compare(), "Side by side (C)");
  /** @param {"sheet" | "pdf" | "zip"} what @returns {() => void} */
  const download = (what) => () => ctx.send(send.download(what, ctx.selected()));
  const downloads = menuButton({
    label: "⤓ Download",
    className: "qw-download-menu",
    title: "The selected pictures as a contact sheet (PNG or PDF) or their originals in a zip",
    items: [
      {
        label: "Contact sheet (PNG)",
        className: "qw-download-sheet",
        onSelect: download("sheet"),
        title: "One image of the selected pictures with their prompts",
      },
      {
        label: "Contact sheet (PDF)",
        className: "qw-download-pdf",
        onSelect: download("pdf"),
        title: "The contact sheet as a PDF page, for printing",
      },
      {
        label: "Originals (zip)",
        className: "qw-download-zip",
        onSelect: download("zip"),
        title: "The full-size files of the selected pictures",
      },
    ],
  });
  const all = button(
    "Select all",
    "qw-select-page",
    () => ctx.setSelected(withAll(ctx.selected(), ctx.shown())),
    "Select every picture shown (failed ones cannot be)",
  );
  const clear = button("Clear", "qw-clear", () => ctx.setSelected([]), "Clear the selection (Esc)");
  const controls = [label, compare, downloads, all, clear];
  const draw = () => {
    const selected = ctx.selected();
    bar.hidden = selected.length === 0;
    // Out of the page while nothing is selected: its menu is not one more menu of the view.
    if (!selected.length) {
      bar.replaceChildren();
      return;
    }
    if (!bar.firstChild) bar.append(...controls);
    const text = selectionLabel(selected, ctx.drawn());
    if (label.textContent !== text) label.textContent = text;
    compare.hidden = !ctx.canCompare();
  };
  draw();
  return { draw };
}
