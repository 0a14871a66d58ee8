// "runs" mode: one section per run (newest first) with its header, its cards or comparison rows,
// and a line for the runs folded away.

import { button, h } from "../shared/dom.js";
import { progressBar } from "../shared/format.js";
import { KeyedParts } from "../shared/keyed.js";
import { send } from "../shared/protocol.js";
import { drawComparison } from "./comparison.js";
import { restoreFocus, retryControls, retrySection } from "./retry.js";

/** @typedef {import("../shared/types.js").Run} Run */

/**
 * What drawing runs needs from its view.
 * @typedef {object} RunsContext
 * @property {(ids: string[]) => HTMLElement} grid the cards with these ids
 * @property {(msg: object) => void} send
 * @property {boolean} canUsePrompt
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
 * The runs drawn into `body`, each a section kept by its run's key. A run that changed redraws only the
 * part that shows the change (its header, its cards' grid, a retry's line, its comparison); cards are
 * the grid's elements, moved into place, never made again.
 * @param {HTMLElement} body
 * @param {Omit<RunsContext, "canUsePrompt" | "refocus">} ctx
 */
export function createRunsView(body, ctx) {
  const parts = new KeyedParts(body);
  /** @type {Map<string, {node: HTMLElement, parts: KeyedParts}>} */
  let sections = new Map();

  /** @param {Run} run @param {RunsContext} runCtx */
  function section(run, runCtx) {
    const drawn = sections.get(run.key);
    const node = drawn?.node || h("section");
    const compare = run.kind === "compare";
    const className = `qw-run${compare ? " qw-compare" : ""}${run.collapsed ? " qw-collapsed" : ""}`;
    if (node.className !== className) node.className = className;
    node.dataset.key = run.key;
    const active = document.activeElement;
    // A run's control (the retry's question) may be drawn anew: the focus goes back onto it.
    const refocus =
      active instanceof HTMLElement && node.contains(active) ? active.dataset.refocus || "" : "";
    const own = drawn?.parts || new KeyedParts(node);
    const { ids, rows, axes, retries, ...head } = run;
    /** @type {import("../shared/keyed.js").Part[]} */
    const list = [
      { key: `head:${JSON.stringify([head, runCtx.canUsePrompt])}`, draw: () => [runHeader(run, runCtx)] },
    ];
    if (!run.collapsed && compare) {
      list.push({
        key: `compare:${JSON.stringify([rows, axes])}`,
        draw: () => drawComparison(run, ctx.grid, ctx.send),
      });
    } else if (!run.collapsed) {
      list.push({ key: `grid:${JSON.stringify(ids || [])}`, draw: () => [ctx.grid(ids || [])] });
      for (const line of retries || [])
        list.push({ key: `retry:${JSON.stringify(line)}`, draw: () => [retrySection(line, ctx)] });
    }
    own.show(list);
    if (refocus && !node.contains(document.activeElement)) restoreFocus(node, refocus);
    return { node, parts: own };
  }

  /**
   * @param {Run[]} runs
   * @param {{count?: number, text?: string}} folded
   * @param {boolean} canUsePrompt
   * @returns {Set<string>} the ids of the cards drawn now
   */
  function draw(runs, folded, canUsePrompt) {
    const runCtx = { ...ctx, canUsePrompt };
    /** @type {Map<string, {node: HTMLElement, parts: KeyedParts}>} */
    const next = new Map();
    for (const run of runs) next.set(run.key, section(run, runCtx));
    sections = next;
    /** @type {import("../shared/keyed.js").Part[]} */
    const list = [...next].map(([key, drawn]) => ({ key: `run:${key}`, draw: () => [drawn.node] }));
    if (folded?.count)
      list.push({ key: `folded:${JSON.stringify(folded)}`, draw: () => [foldedLine(folded, ctx)] });
    parts.show(list);
    return new Set(runOrder(runs));
  }

  return { draw };
}

/**
 * The line for the runs folded away, with "Show more".
 * @param {{count?: number, text?: string}} folded
 * @param {{send: (msg: object) => void}} ctx
 */
function foldedLine(folded, ctx) {
  const line = h("div", "qw-folded");
  line.append(h("span", "", folded.text || `${folded.count} earlier runs`));
  line.append(button("Show more", "qw-show-more", () => ctx.send(send.moreRuns())));
  return line;
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
