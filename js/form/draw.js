// One function per part of the prompt form, each reading only the traits it shows, and the table
// of which trait changes redraw which part (so a change of the status line leaves the rest alone).

import { appendMarked, h } from "../shared/dom.js";
import { counterText } from "../shared/format.js";
import { send } from "../shared/protocol.js";

/** @typedef {import("./view.js").FormView} FormView */
/** @typedef {ReturnType<typeof import("../shared/dom.js").traits<import("../shared/types.js").FormModel>>} FormTraits */
/**
 * @typedef {object} FormState what drawing shares with the form's input handling
 * @property {string} sentPrompt the prompt last sent to Python
 */

/** @param {FormView} v @param {FormTraits} t */
export function drawHead(v, t) {
  v.heading.textContent = t.get("heading", "");
  v.badge.textContent = t.get("badge", "");
  v.account.textContent = t.get("account", "");
  v.notice.textContent = t.get("notice", "");
  for (const node of [v.heading, v.badge, v.account, v.notice]) node.hidden = !node.textContent;
  v.head.hidden = [v.heading, v.badge, v.account, v.notice].every((node) => !node.textContent);
}

/** @param {FormView} v @param {FormTraits} t */
export function drawCounter(v, t) {
  const { text, over } = counterText(v.box.value.length, t.get("max_prompt_chars", 0));
  v.counter.textContent = text;
  v.counter.classList.toggle("qw-over", over);
}

/** The prompt from Python, unless the person is typing in the box. @param {FormView} v @param {FormTraits} t @param {FormState} s */
export function drawPrompt(v, t, s) {
  if (document.activeElement !== v.box && v.box.value !== t.get("prompt", "")) {
    v.box.value = t.get("prompt", "");
    s.sentPrompt = v.box.value;
  }
  drawCounter(v, t);
}

/** @param {FormView} v @param {FormTraits} t */
export function drawCount(v, t) {
  if (document.activeElement !== v.count) v.count.value = String(t.get("count", t.get("min_count", 0)));
}

/** The count's range and price come from Python's contract. @param {FormView} v @param {FormTraits} t */
export function drawLimits(v, t) {
  const min = t.get("min_count", 0);
  const max = t.get("max_count", 0);
  v.count.min = String(min);
  v.count.max = String(max);
  v.count.setAttribute("aria-label", `How many pictures (${min} to ${max})`);
  const price = t.get("price_per_picture", 0);
  v.count.title = price ? `Each picture costs ${price} credits` : "";
}

/** @param {FormView} v @param {FormTraits} t */
export function drawCost(v, t) {
  v.cost.textContent = t.get("cost", "");
}

/** @param {FormView} v @param {FormTraits} t */
export function drawErrors(v, t) {
  v.promptError.textContent = t.get("prompt_error", "");
  v.countError.textContent = t.get("count_error", "");
  v.box.setAttribute("aria-invalid", String(Boolean(t.get("prompt_error", ""))));
}

/** @param {FormView} v @param {FormTraits} t */
export function drawButtons(v, t) {
  const busy = t.get("submitting", false);
  v.generate.disabled = busy;
  v.generate.textContent = busy ? "Submitting…" : "Generate";
  v.retry.hidden = !t.get("can_retry", false);
  v.retry.disabled = busy;
}

/** @param {FormView} v @param {FormTraits} t */
export function drawStatus(v, t) {
  v.status.replaceChildren();
  v.status.className = `qw-form-status${t.get("status_kind", "info") === "error" ? " qw-error" : ""}`;
  const text = t.get("status", "");
  if (text) v.status.append(document.createTextNode(text));
  const batch = t.get("batch_id", "");
  if (batch) {
    v.status.append(document.createTextNode(" Batch "));
    const code = h("code", "qw-id", batch);
    code.title = "The batch id: select to copy";
    v.status.append(code);
  }
}

/** @param {FormView} v @param {FormTraits} t */
export function drawPlan(v, t) {
  v.plan.replaceChildren();
  const variants = t.get("variants", []);
  v.plan.hidden = variants.length === 0;
  if (!variants.length) return;
  v.plan.append(h("div", "qw-plan-head", t.get("plan", "") || `${variants.length} prompts`));
  const list = h("ol", "qw-plan-list");
  for (const variant of variants) {
    const item = h("li", "qw-plan-item");
    appendMarked(item, variant.parts);
    list.append(item);
  }
  v.plan.append(list);
}

/** @param {FormView} v @param {FormTraits} t @param {(msg: object) => void} sendMsg */
export function drawConfirm(v, t, sendMsg) {
  v.confirmBox.replaceChildren();
  const question = t.get("confirm", "");
  v.confirmBox.hidden = !question;
  if (!question) return;
  const yes = h("button", "qw-btn qw-primary qw-confirm-yes", "Yes, generate");
  yes.type = "button";
  yes.addEventListener("click", () => sendMsg(send.confirm(true)));
  const no = h("button", "qw-btn qw-confirm-no", "Cancel");
  no.type = "button";
  no.addEventListener("click", () => sendMsg(send.confirm(false)));
  v.confirmBox.append(h("span", "qw-confirm-text", question), yes, no);
  if (!v.confirmBox.contains(document.activeElement)) yes.focus({ preventScroll: true });
}

/** @param {FormView} v @param {FormTraits} t */
export function drawBudget(v, t) {
  v.budget.textContent = t.get("budget_text", "");
  v.budget.hidden = !v.budget.textContent;
}

/** @param {FormView} v @param {FormTraits} t */
export function drawHistory(v, t) {
  const items = t.get("history", []);
  v.history.replaceChildren();
  // Always in its place (disabled while empty): appearing after the first run pushed the runs down.
  v.history.disabled = items.length === 0;
  const placeholder = h("option", "", `Recent prompts (${items.length})…`);
  placeholder.value = "";
  placeholder.selected = true;
  v.history.append(placeholder);
  items.forEach((item, index) => {
    const option = h("option", "", item.label);
    option.value = String(index);
    option.title = item.prompt;
    v.history.append(option);
  });
}

/** The traits Python changes in answer to "generate": each puts Generate back as `submitting` says. */
const ANSWERS = ["submitting", "can_retry", "prompt", "count", "cost", "prompt_error", "count_error"];
ANSWERS.push("status", "status_kind", "batch_id", "history", "variants", "plan", "confirm", "budget_text");

/**
 * Which parts each trait change redraws: `[traits, draw]` pairs.
 * @param {FormView} v
 * @param {FormTraits} t
 * @param {FormState} s
 * @param {(msg: object) => void} sendMsg
 * @returns {Array<[string[], () => void]>}
 */
export function drawers(v, t, s, sendMsg) {
  return [
    [["heading", "badge", "account", "notice"], () => drawHead(v, t)],
    [["prompt", "max_prompt_chars"], () => drawPrompt(v, t, s)],
    [["count"], () => drawCount(v, t)],
    [["min_count", "max_count", "price_per_picture"], () => drawLimits(v, t)],
    [["cost"], () => drawCost(v, t)],
    [["prompt_error", "count_error"], () => drawErrors(v, t)],
    // A click disables Generate until Python answers, and any change of the state it sends back is
    // that answer (a refused prompt may change nothing but an error line).
    [ANSWERS, () => drawButtons(v, t)],
    [["status", "status_kind", "batch_id"], () => drawStatus(v, t)],
    [["variants", "plan"], () => drawPlan(v, t)],
    [["confirm"], () => drawConfirm(v, t, sendMsg)],
    [["budget_text"], () => drawBudget(v, t)],
    [["history"], () => drawHistory(v, t)],
  ];
}
