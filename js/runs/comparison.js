// A comparison drawn as a matrix by the words that vary (the X/Y plot of image generators): the first
// varying slot's words are the rows, the second's the columns, each cell that prompt's pictures; any
// further slots make one labelled matrix per combination of their words. Without axes (runs of
// different templates) it is a list of rows, each prompt with its varying words marked. Each prompt is a
// job of its own, so each cell (or row) offers "Retry N failed" for its own failures and draws its
// retries after its own pictures.

import { appendMarked, h } from "../shared/dom.js";
import { retryControls, retrySections } from "./retry.js";

/** @typedef {import("../shared/types.js").CompareRow} CompareRow */
/** @typedef {import("../shared/types.js").CompareAxis} CompareAxis */
/** @typedef {import("./retry.js").RetryContext} RetryContext */

/**
 * Where each row of a comparison goes. Pure, so the placement is tested without a DOM.
 * @typedef {object} MatrixGroup
 * @property {string} label the words of the slots past the first two ("" when there are none)
 * @property {string[]} rows the row labels (the first slot's words; one "" row for a single slot)
 * @property {string[]} columns the column labels
 * @property {Array<Array<number | null>>} cells cells[r][c]: the index of the comparison row there
 */

/**
 * @param {CompareAxis[]} axes
 * @param {CompareRow[]} rows
 * @returns {MatrixGroup[] | null} null when there is nothing to place (no axis, or a row without a cell)
 */
export function matrixPlan(axes, rows) {
  if (!axes?.length || rows.some((row) => !row.cell || row.cell.length !== axes.length)) return null;
  const single = axes.length === 1;
  const rowAxis = single ? [""] : axes[0].values;
  const colAxis = single ? axes[0].values : axes[1].values;
  const rest = axes.slice(single ? 1 : 2);
  /** @type {Map<string, MatrixGroup>} */
  const groups = new Map();
  rows.forEach((row, index) => {
    const cell = /** @type {number[]} */ (row.cell);
    const [r, c] = single ? [0, cell[0]] : [cell[0], cell[1]];
    const restCell = cell.slice(single ? 1 : 2);
    const key = restCell.join(",");
    let group = groups.get(key);
    if (!group) {
      const label = restCell.map((word, n) => rest[n].values[word]).join(" · ");
      const cells = rowAxis.map(() => colAxis.map(() => /** @type {number | null} */ (null)));
      group = { label, rows: rowAxis, columns: colAxis, cells };
      groups.set(key, group);
    }
    group.cells[r][c] = index;
  });
  return [...groups.values()];
}

/**
 * The pieces of a row's prompt to draw: the marked parts, else the whole prompt unmarked.
 * @param {CompareRow} row
 * @returns {Array<[string, boolean]>}
 */
export function rowParts(row) {
  return row.parts?.length ? row.parts : [[row.prompt, false]];
}

/**
 * A row's pictures as its cell or list row draws them: its own cards, then each retry's under a thin
 * "Retry" line.
 * @param {CompareRow} row
 * @param {RetryContext} ctx
 * @param {string} className
 * @returns {HTMLElement[]}
 */
function rowPictures(row, ctx, className) {
  const cards = ctx.grid(row.ids || []);
  cards.classList.add(className);
  return [cards, ...retrySections(row, ctx)];
}

/**
 * A row's "Retry N failed", its question and its note, beside each other under the row's progress;
 * nothing when the row has none of them.
 * @param {CompareRow} row
 * @param {RetryContext} ctx
 * @returns {HTMLElement[]}
 */
function rowRetry(row, ctx) {
  const controls = retryControls(row, ctx);
  if (!controls.length) return [];
  const box = h("div", "qw-cell-retry");
  box.append(...controls);
  return [box];
}

/**
 * A row of the list drawing: the prompt, then its pictures.
 * @param {CompareRow} row
 * @param {RetryContext} ctx
 */
export function compareRow(row, ctx) {
  const node = h("div", "qw-compare-row");
  node.dataset.key = row.key;
  const label = h("div", "qw-row-label");
  const text = h("div", "qw-row-prompt");
  appendMarked(text, rowParts(row));
  text.title = row.prompt;
  label.append(text, h("div", "qw-row-progress", `${row.progress} · ${row.credits}`), ...rowRetry(row, ctx));
  const pictures = h("div", "qw-row-pictures");
  pictures.append(...rowPictures(row, ctx, "qw-row-grid"));
  node.append(label, pictures);
  return node;
}

/**
 * One matrix: column labels on top, row labels on the left, each cell a prompt's pictures.
 * @param {MatrixGroup} group
 * @param {CompareRow[]} rows
 * @param {RetryContext} ctx
 */
function drawMatrix(group, rows, ctx) {
  const hasRowLabels = group.rows.length > 1 || group.rows[0] !== "";
  const node = h("div", `qw-matrix${hasRowLabels ? "" : " qw-matrix-one-row"}`);
  node.style.setProperty("--qw-cols", String(group.columns.length));
  node.setAttribute("role", "table");
  const head = h("div", "qw-matrix-head");
  head.setAttribute("role", "row");
  if (hasRowLabels) head.append(h("div", "qw-matrix-corner"));
  for (const word of group.columns) {
    const label = h("div", "qw-axis-label qw-col-label", word);
    label.setAttribute("role", "columnheader");
    head.append(label);
  }
  node.append(head);
  group.cells.forEach((cells, r) => {
    const line = h("div", "qw-matrix-row");
    line.setAttribute("role", "row");
    if (hasRowLabels) {
      const label = h("div", "qw-axis-label qw-row-axis", group.rows[r]);
      label.setAttribute("role", "rowheader");
      line.append(label);
    }
    cells.forEach((index, c) => {
      const cell = h("div", "qw-matrix-cell");
      cell.setAttribute("role", "cell");
      const where = hasRowLabels ? `${group.rows[r]} × ${group.columns[c]}` : group.columns[c];
      // Said again inside the cell: when the matrix is too narrow for columns, cells stack under it.
      cell.append(h("div", "qw-cell-words", where));
      if (index !== null) {
        const row = rows[index];
        cell.dataset.key = row.key;
        cell.title = row.prompt;
        cell.append(
          ...rowPictures(row, ctx, "qw-cell-grid"),
          h("div", "qw-row-progress", `${row.progress} · ${row.credits}`),
          ...rowRetry(row, ctx),
        );
      }
      line.append(cell);
    });
    node.append(line);
  });
  return node;
}

/**
 * A comparison's body: its matrices (one per group), or its rows when it has no axes.
 * @param {{rows?: CompareRow[], axes?: CompareAxis[]}} run
 * @param {(ids: string[]) => HTMLElement} grid
 * @param {(msg: object) => void} [sendIntent] where a row's "Retry N failed" sends (runs.js's `send`)
 * @returns {HTMLElement[]}
 */
export function drawComparison(run, grid, sendIntent = () => {}) {
  const rows = run.rows || [];
  const ctx = { grid, send: sendIntent };
  const plan = matrixPlan(run.axes || [], rows);
  if (!plan) return rows.map((row) => compareRow(row, ctx));
  return plan.map((group) => {
    if (!group.label) return drawMatrix(group, rows, ctx);
    const box = h("div", "qw-matrix-group");
    box.append(h("div", "qw-group-label", group.label), drawMatrix(group, rows, ctx));
    return box;
  });
}
