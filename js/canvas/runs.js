// "runs" mode: one section per run (newest first) with its header, its cards or comparison rows,
// and a line for the runs folded away.

import { button, h } from "../dom.js";
import { progressBar } from "../format.js";
import { send } from "../protocol.js";
import { drawComparison } from "./comparison.js";
import { restoreFocus, retryControls, retrySections } from "./retry.js";

/** @typedef {import("../types.js").Run} Run */

/**
 * What drawing runs needs from its view.
 * @typedef {object} RunsContext
 * @property {(ids: string[]) => HTMLElement} grid the cards with these ids
 * @property {(msg: object) => void} send
 * @property {boolean} canUsePrompt
 * @property {string} [refocus] the `data-refocus` of the control focused before this redraw
 */

/**
 * @param {Run} run
 * @param {RunsContext} ctx
 */
export function runHeader(run, ctx) {
  const header = h("div", "qw-run-head");
  const toggle = button(
    run.collapsed ? "▸" : "▾",
    "qw-run-toggle",
    () => ctx.send(send.toggleRun(run.key)),
    run.collapsed ? "Show this run" : "Fold this run",
  );
  toggle.setAttribute("aria-expanded", String(!run.collapsed));
  const prompt = h("div", "qw-run-prompt", run.prompt || "Tracked records");
  prompt.title = run.prompt || "";
  const meta = h("div", "qw-run-meta");
  meta.append(h("span", "", run.meta || ""));
  if (run.credits) meta.append(h("span", "qw-run-credits", run.credits));
  const progress = h("div", "qw-run-progress");
  const bar = h("div", "qw-bar");
  const widths = progressBar(run);
  const done = h("span", "qw-bar-done");
  done.style.width = `${widths.donePct}%`;
  const failed = h("span", "qw-bar-failed");
  failed.style.width = `${widths.failedPct}%`;
  bar.append(done, failed);
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", String(widths.total));
  bar.setAttribute("aria-valuenow", String(widths.now));
  progress.append(bar, h("span", "qw-run-progress-text", run.progress || ""));
  const text = h("div", "qw-run-text");
  text.append(prompt, meta, progress);
  header.append(toggle, text);
  const retry = retryControls(run, ctx);
  if ((run.use_prompt && ctx.canUsePrompt) || retry.length) {
    const actions = h("div", "qw-run-actions");
    if (run.use_prompt && ctx.canUsePrompt)
      actions.append(
        button(
          "Run again",
          "qw-run-again",
          () => ctx.send(send.runAgain(run.key)),
          "Generate this prompt again (asks first, with the cost)",
        ),
        button(
          "Edit",
          "qw-run-reuse",
          () => ctx.send(send.useRunPrompt(run.key)),
          "Put this prompt into the form to change it",
        ),
      );
    if (run.question) actions.append(againQuestion(run, ctx));
    actions.append(...retry);
    header.append(actions);
    // A question takes a line of its own under the header, so the prompt and its counts keep their width.
    header.classList.toggle("qw-run-asking", Boolean(run.question || run.retry?.question));
  }
  return header;
}

/**
 * "Run again" asks here, next to the button pressed, not in the form far above.
 * @param {Run} run
 * @param {RunsContext} ctx
 */
function againQuestion(run, ctx) {
  const box = h("div", "qw-run-question");
  box.setAttribute("role", "group");
  const text = h("span", "qw-run-question-text", run.question);
  const yes = button("Yes, generate", "qw-primary qw-run-again-yes", () =>
    ctx.send(send.runAgain(run.key, true)),
  );
  const no = button("No", "qw-run-again-no", () => ctx.send(send.runAgain(run.key, false)));
  box.append(text, yes, no);
  return box;
}

/**
 * Draws every run into `body`; returns the ids of the cards now drawn.
 * @param {HTMLElement} body
 * @param {Run[]} runs
 * @param {{count?: number, text?: string}} folded
 * @param {RunsContext} ctx
 */
export function drawRuns(body, runs, folded, ctx) {
  /** @type {Set<string>} */
  const live = new Set();
  for (const run of runs) {
    const compare = run.kind === "compare";
    const section = h(
      "section",
      `qw-run${compare ? " qw-compare" : ""}${run.collapsed ? " qw-collapsed" : ""}`,
    );
    section.dataset.key = run.key;
    section.append(runHeader(run, ctx));
    if (!run.collapsed && compare) {
      section.append(...drawComparison(run, ctx.grid, ctx.send));
    } else if (!run.collapsed) {
      section.append(ctx.grid(run.ids || []), ...retrySections(run, ctx));
    }
    if (!run.collapsed) for (const id of runIds(run)) live.add(id);
    body.append(section);
  }
  restoreFocus(body, ctx.refocus || "");
  if (folded?.count) {
    const line = h("div", "qw-folded");
    line.append(h("span", "", folded.text || `${folded.count} earlier runs`));
    line.append(button("Show more", "qw-show-more", () => ctx.send(send.moreRuns())));
    body.append(line);
  }
  return live;
}

/**
 * The ids in the order the large view steps through them: those of the unfolded runs.
 * @param {Run[]} runs
 */
export function runOrder(runs) {
  /** @type {string[]} */
  const ids = [];
  for (const run of runs) if (!run.collapsed) ids.push(...runIds(run));
  return ids;
}

/**
 * A run's card ids in the order drawn: its own, then each retry's inside it.
 * @param {Run} run
 */
function runIds(run) {
  return [...(run.ids || []), ...(run.retries || []).flatMap((line) => line.ids)];
}

/**
 * Keeps a new run in view once: after a click that may start one (Generate, a "yes"), the first run
 * that appears is scrolled into view, unless the person scrolled since the click.
 */
export class FollowNewRun {
  /** @param {Run[]} runs the runs drawn when the view opened (never followed) */
  constructor(runs) {
    this.known = new Set(runs.map((run) => run.key));
    this.armed = false;
  }

  /** A click on a button of a form or a canvas: the next new run is followed. */
  clicked() {
    this.armed = true;
  }

  /** The person scrolled (wheel, touch, keys): leave the page where they put it. */
  scrolled() {
    this.armed = false;
  }

  /**
   * The key of the run to scroll to now, if any (each new run is considered once).
   * @param {Run[]} runs
   * @returns {string | null}
   */
  follow(runs) {
    const fresh = runs.find((run) => !this.known.has(run.key));
    for (const run of runs) this.known.add(run.key);
    if (!fresh || !this.armed) return null;
    this.armed = false;
    return fresh.key;
  }
}
