// A comparison's row: the prompt with the words that vary between rows marked, then its pictures.

import { appendMarked, h } from "../dom.js";

/** @typedef {import("../types.js").CompareRow} CompareRow */

/**
 * The pieces of a row's prompt to draw: the marked parts, else the whole prompt unmarked.
 * @param {CompareRow} row
 * @returns {Array<[string, boolean]>}
 */
export function rowParts(row) {
  return row.parts?.length ? row.parts : [[row.prompt, false]];
}

/**
 * @param {CompareRow} row
 * @param {(ids: string[]) => HTMLElement} grid
 */
export function compareRow(row, grid) {
  const node = h("div", "qw-compare-row");
  node.dataset.key = row.key;
  const label = h("div", "qw-row-label");
  const text = h("div", "qw-row-prompt");
  appendMarked(text, rowParts(row));
  text.title = row.prompt;
  label.append(text, h("div", "qw-row-progress", `${row.progress} · ${row.credits}`));
  const cards = grid(row.ids || []);
  cards.classList.add("qw-row-grid");
  node.append(label, cards);
  return node;
}
