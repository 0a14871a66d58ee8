// "Retry N failed" on a run: the button, its question asked beside it (Yes / Cancel, the focus on Yes,
// Escape cancels), the note after it, and the retries drawn inside their run. Python counts the
// failures and words everything; this only draws it and sends the intent.

import { button, h } from "../shared/dom.js";
import { send } from "../shared/protocol.js";

/** @typedef {import("../shared/types.js").Run} Run */

/**
 * What drawing a retry needs from its view (a part of runs.js's RunsContext).
 * @typedef {object} RetryContext
 * @property {(ids: string[]) => HTMLElement} grid
 * @property {(msg: object) => void} send
 */

/**
 * The retry's controls for a run's actions row: the button while offered, the question while asked,
 * and the note (progress or a refusal) beside them. Empty when the run has nothing to say.
 * @param {Run} run
 * @param {RetryContext} ctx
 * @returns {HTMLElement[]}
 */
export function retryControls(run, ctx) {
  const retry = run.retry;
  if (!retry) return [];
  /** @type {HTMLElement[]} */
  const nodes = [];
  if (retry.count > 0) {
    const retryButton = button(
      `Retry ${retry.count} failed`,
      "qw-run-retry",
      () => ctx.send(send.retryFailed(run.key)),
      "Generate the failed pictures again as one new job (asks first, with the cost)",
    );
    retryButton.dataset.refocus = `retry:${run.key}`;
    nodes.push(retryButton);
  }
  if (retry.count > 0 && retry.question) nodes.push(retryQuestion(run, retry.question, ctx));
  if (retry.note) {
    const note = h("div", `qw-run-retry-note${retry.note_kind === "error" ? " qw-error" : ""}`, retry.note);
    note.setAttribute("role", retry.note_kind === "error" ? "alert" : "status");
    nodes.push(note);
  }
  return nodes;
}

/**
 * @param {Run} run
 * @param {string} question
 * @param {RetryContext} ctx
 */
function retryQuestion(run, question, ctx) {
  const box = h("div", "qw-run-question qw-retry-question");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "Retry the failed pictures?");
  const yes = button("Yes, retry", "qw-primary qw-retry-yes", () =>
    ctx.send(send.retryFailed(run.key, true)),
  );
  yes.dataset.refocus = `retry-yes:${run.key}`;
  const no = button("Cancel", "qw-retry-no", () => ctx.send(send.retryFailed(run.key, false)));
  no.dataset.refocus = `retry-no:${run.key}`;
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation(); // Escape here cancels the question, not the selection or the large view
    ctx.send(send.retryFailed(run.key, false));
  });
  box.append(h("span", "qw-run-question-text", question), yes, no);
  return box;
}

/**
 * The retries inside their run, each a sub-line over its cards.
 * @param {{retries?: import("../shared/types.js").RetryLine[]}} run
 * @param {RetryContext} ctx
 * @returns {HTMLElement[]}
 */
export function retrySections(run, ctx) {
  return (run.retries || []).map((line) => retrySection(line, ctx));
}

/**
 * One retry: "Retry · 2 pictures · 12:03:04" over its cards.
 * @param {import("../shared/types.js").RetryLine} line
 * @param {RetryContext} ctx
 */
export function retrySection(line, ctx) {
  const part = h("div", "qw-run-retry-part");
  part.dataset.key = line.key;
  const head = h("div", "qw-run-retry-line");
  head.append(h("span", "qw-run-retry-title", line.text), h("span", "qw-run-retry-progress", line.progress));
  part.append(head, ctx.grid(line.ids));
  return part;
}

/**
 * Where the keyboard focus goes once a run's header or comparison is drawn again: the control it was on
 * (drawing it again replaces its elements), or Yes when the question just appeared after "Retry N
 * failed"; back on the button after Cancel.
 * @param {HTMLElement} body the run's section
 * @param {string} before the `data-refocus` of the element focused before the redraw ('' if none)
 */
export function restoreFocus(body, before) {
  if (!before) return;
  const [what, ...rest] = before.split(":");
  const key = rest.join(":");
  /** @param {string} name */
  const find = (name) =>
    /** @type {HTMLElement | undefined} */ (
      [...body.querySelectorAll("[data-refocus]")].find(
        (node) => /** @type {HTMLElement} */ (node).dataset.refocus === `${name}:${key}`,
      )
    );
  const wanted = what === "retry" || what === "retry-yes" ? ["retry-yes", "retry"] : [what, "retry"];
  for (const name of wanted) {
    const node = find(name);
    if (node) {
      node.focus({ preventScroll: true });
      return;
    }
  }
}
