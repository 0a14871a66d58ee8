// The prompt form's elements, built once; form/draw.js fills them from the traits.

import { h } from "../shared/dom.js";

export function buildForm() {
  const head = h("div", "qw-form-head");
  const heading = h("span", "qw-form-title");
  const badge = h("span", "qw-badge-sandbox");
  const account = h("span", "qw-account");
  const notice = h("span", "qw-notice");
  head.append(heading, badge, account, notice);

  const boxWrap = h("div", "qw-prompt-wrap");
  const box = h("textarea", "qw-prompt-box");
  box.rows = 3;
  box.placeholder = "Describe the scene, e.g. “sunlit white marble countertop, soft shadows”";
  box.setAttribute("aria-label", "Prompt: describe the scene you want");
  box.spellcheck = true;
  const promptError = h("div", "qw-field-error qw-prompt-error");
  promptError.setAttribute("role", "alert");

  const row = h("div", "qw-form-row");
  const countLabel = h("label", "qw-count-label", "Pictures ");
  const count = h("input", "qw-input qw-count-input");
  count.type = "number";
  count.step = "1";
  count.inputMode = "numeric";
  countLabel.append(count);
  const cost = h("span", "qw-cost");
  const generate = h("button", "qw-btn qw-primary qw-generate", "Generate");
  generate.type = "button";
  generate.title = "Generate (Ctrl+Enter)";
  const retry = h("button", "qw-btn qw-retry", "Retry safely");
  retry.type = "button";
  retry.title = "Resend the same job with the same idempotency key: it cannot be charged twice.";
  const kbd = h("span", "qw-kbd", "Ctrl+Enter");
  const counter = h("span", "qw-counter");
  counter.setAttribute("aria-hidden", "true"); // the box's own length is what a screen reader says
  boxWrap.append(box, counter);
  const history = h("select", "qw-select qw-history");
  history.setAttribute("aria-label", "Recent prompts");
  // One row for everything that acts: on a narrow notebook it wraps instead of stacking a line each.
  row.append(generate, retry, countLabel, cost, kbd, history);
  const countError = h("div", "qw-field-error qw-count-error");
  countError.setAttribute("role", "alert");

  const plan = h("div", "qw-plan");
  plan.setAttribute("aria-live", "polite");
  const confirmBox = h("div", "qw-confirm");
  confirmBox.setAttribute("role", "alertdialog");
  const budget = h("div", "qw-budget");
  const status = h("div", "qw-form-status");
  status.setAttribute("role", "status");

  const root = [head, boxWrap, promptError, plan, row, countError, confirmBox, budget, status];
  return {
    root,
    head,
    heading,
    badge,
    account,
    notice,
    box,
    counter,
    promptError,
    count,
    cost,
    generate,
    retry,
    history,
    countError,
    plan,
    confirmBox,
    budget,
    status,
  };
}

/** @typedef {ReturnType<typeof buildForm>} FormView */
