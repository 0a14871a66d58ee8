// Where a picture sits among others: in a template comparison (its template, its cell, "3 of 12",
// and the ids ←/→ step through), and which selections can be compared side by side.

/** @typedef {import("../shared/types.js").Run} Run */
/** @typedef {import("../shared/types.js").CompareRow} CompareRow */

/** How many pictures the compare view shows side by side. */
export const COMPARE_MIN = 2;
export const COMPARE_MAX = 4;

/** @param {number} count */
export const canCompare = (count) => count >= COMPARE_MIN && count <= COMPARE_MAX;

/**
 * A row's cell as a person reads it: the words that vary, joined by " × " ("marble × warm"), else
 * its whole prompt.
 * @param {CompareRow} row
 */
export function cellLabel(row) {
  const words = (row.parts || []).filter(([, varies]) => varies).map(([text]) => text.trim());
  return words.filter(Boolean).join(" × ") || row.prompt;
}

/**
 * A row's pictures in the order its cell draws them: its own, then its retries' (a retry of a cell is
 * part of that cell, in the large view too).
 * @param {CompareRow} row
 */
const rowIds = (row) => [...(row.ids || []), ...(row.retries || []).flatMap((line) => line.ids)];

/**
 * The comparison a picture belongs to, or null.
 * @param {Run[]} runs
 * @param {string} id
 * @returns {{template: string, cell: string, index: number, total: number, ids: string[]} | null}
 */
export function comparisonOf(runs, id) {
  for (const run of runs) {
    if (run.kind !== "compare" || !run.rows) continue;
    const ids = run.rows.flatMap(rowIds);
    const index = ids.indexOf(id);
    if (index < 0) continue;
    const row = run.rows.find((r) => rowIds(r).includes(id));
    return {
      template: run.prompt || "",
      cell: row ? cellLabel(row) : "",
      index: index + 1,
      total: ids.length,
      ids,
    };
  }
  return null;
}

/**
 * The ids ←/→ step through from `id`: its comparison's when it is in one, else `order`.
 * @param {Run[]} runs
 * @param {string[]} order
 * @param {string} id
 */
export function stepOrder(runs, order, id) {
  return comparisonOf(runs, id)?.ids || order;
}

/**
 * The neighbours to prefetch around `id` in `order`: the next, then the previous.
 * @param {string[]} order
 * @param {string} id
 */
export function neighbours(order, id) {
  const at = order.indexOf(id);
  if (at < 0) return [];
  return [order[at + 1], order[at - 1]].filter((x) => typeof x === "string");
}
