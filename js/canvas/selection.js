// The selection bar: how many are selected, select all shown, clear, and the two downloads.

import { button, h } from "../dom.js";
import { send } from "../protocol.js";

/**
 * What the selection bar needs from its view.
 * @typedef {object} SelectionContext
 * @property {string[]} shown ids of the cards drawn now
 * @property {Set<string>} drawn ids whose card is on screen (not folded away)
 * @property {() => string[]} selected the selected ids, read when a button is pressed
 * @property {(ids: string[]) => void} setSelected
 * @property {(msg: object) => void} send
 */

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
 * @param {HTMLElement} bar
 * @param {SelectionContext} ctx
 */
export function drawSelection(bar, ctx) {
  const selected = ctx.selected();
  bar.replaceChildren();
  if (!ctx.shown.length && !selected.length) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  const none = selected.length === 0;
  const label = h("span", "qw-selected-count", selectionLabel(selected, ctx.drawn));
  label.setAttribute("aria-live", "polite");
  const all = button("Select all shown", "qw-select-page", () =>
    ctx.setSelected(withAll(selected, ctx.shown)),
  );
  const clear = button("Clear", "qw-clear", () => ctx.setSelected([]));
  clear.disabled = none;
  const sheet = button(
    "⤓ Contact sheet (PNG)",
    "qw-download-sheet",
    () => ctx.send(send.download("sheet", ctx.selected())),
    "One image of the selected pictures with their prompts",
  );
  sheet.disabled = none;
  const zip = button(
    "⤓ Originals (zip)",
    "qw-download-zip",
    () => ctx.send(send.download("zip", ctx.selected())),
    "The full-size files of the selected pictures",
  );
  zip.disabled = none;
  bar.append(label, all, clear, sheet, zip);
}
