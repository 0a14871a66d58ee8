// Built from js/ by `npm run build` (esbuild): edit the sources there, not this file.

// js/dom.js
function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== void 0 && text !== null) node.textContent = String(text);
  return node;
}
function appendMarked(parent, parts) {
  for (const [piece, varies] of parts) {
    parent.append(varies ? h("mark", "qw-varies", piece) : document.createTextNode(piece));
  }
}
function traits(model) {
  return {
    /**
     * @template {keyof T & string} K
     * @param {K} name
     * @param {NonNullable<T[K]>} fallback
     * @returns {NonNullable<T[K]>}
     */
    get(name, fallback) {
      const value = model.get(name);
      return value === void 0 || value === null ? fallback : value;
    },
    /**
     * @template {keyof T & string} K
     * @param {K} name
     * @param {T[K]} value
     */
    set(name, value) {
      model.set(name, value);
      model.save_changes();
    }
  };
}
function listen(model, listeners) {
  for (const [event, handler] of listeners) model.on(event, handler);
  return () => {
    for (const [event, handler] of listeners) model.off(event, handler);
  };
}

// js/format.js
function snapCount(raw, fallback, min, max) {
  const value = Number.isFinite(raw) ? Math.round(raw) : fallback;
  return Math.min(max, Math.max(min, value));
}
function counterText(length, max) {
  return { text: `${length.toLocaleString()} / ${max.toLocaleString()}`, over: length > max };
}

// js/protocol.js
var KIND = Object.freeze({
  // canvas, browser -> Python
  HELLO: "hello",
  WANT: "want",
  ALIVE: "alive",
  REFRESH: "refresh",
  DOWNLOAD: "download",
  USE_PROMPT: "use_prompt",
  TOGGLE_RUN: "toggle_run",
  RUN_AGAIN: "run_again",
  USE_RUN_PROMPT: "use_run_prompt",
  MORE_RUNS: "more_runs",
  // canvas, Python -> browser
  THUMBS: "thumbs",
  PATCH: "patch",
  PREVIEW: "preview",
  FILE: "file",
  // form, browser -> Python
  GENERATE: "generate",
  CONFIRM: "confirm",
  RETRY: "retry",
  HISTORY: "history"
});
var send = {
  /** @param {string[]} ids */
  hello: (ids = []) => ({ kind: KIND.HELLO, ids }),
  /** @param {string[]} ids @param {string | null} preview */
  want: (ids, preview) => ({ kind: KIND.WANT, ids, preview }),
  alive: () => ({ kind: KIND.ALIVE }),
  refresh: () => ({ kind: KIND.REFRESH }),
  /** @param {"sheet" | "zip"} what @param {string[]} ids */
  download: (what, ids) => ({ kind: KIND.DOWNLOAD, what, ids }),
  /** @param {string} id */
  usePrompt: (id) => ({ kind: KIND.USE_PROMPT, id }),
  /** @param {string} key */
  toggleRun: (key) => ({ kind: KIND.TOGGLE_RUN, key }),
  /** @param {string} key */
  runAgain: (key) => ({ kind: KIND.RUN_AGAIN, key }),
  /** @param {string} key */
  useRunPrompt: (key) => ({ kind: KIND.USE_RUN_PROMPT, key }),
  moreRuns: () => ({ kind: KIND.MORE_RUNS }),
  /** @param {string} prompt @param {number} count */
  generate: (prompt, count) => ({ kind: KIND.GENERATE, prompt, count }),
  /** @param {boolean} yes */
  confirm: (yes) => ({ kind: KIND.CONFIRM, yes }),
  retry: () => ({ kind: KIND.RETRY }),
  /** @param {number} index */
  history: (index) => ({ kind: KIND.HISTORY, index })
};

// js/form/draw.js
function drawHead(v, t) {
  v.heading.textContent = t.get("heading", "");
  v.badge.textContent = t.get("badge", "");
  v.account.textContent = t.get("account", "");
  v.notice.textContent = t.get("notice", "");
  for (const node of [v.heading, v.badge, v.account, v.notice]) node.hidden = !node.textContent;
  v.head.hidden = [v.heading, v.badge, v.account, v.notice].every((node) => !node.textContent);
}
function drawCounter(v, t) {
  const { text, over } = counterText(v.box.value.length, t.get("max_prompt_chars", 0));
  v.counter.textContent = text;
  v.counter.classList.toggle("qw-over", over);
}
function drawPrompt(v, t, s) {
  if (document.activeElement !== v.box && v.box.value !== t.get("prompt", "")) {
    v.box.value = t.get("prompt", "");
    s.sentPrompt = v.box.value;
  }
  drawCounter(v, t);
}
function drawCount(v, t) {
  if (document.activeElement !== v.count) v.count.value = String(t.get("count", t.get("min_count", 0)));
}
function drawLimits(v, t) {
  const min = t.get("min_count", 0);
  const max = t.get("max_count", 0);
  v.count.min = String(min);
  v.count.max = String(max);
  v.count.setAttribute("aria-label", `How many pictures (${min} to ${max})`);
  const price = t.get("price_per_picture", 0);
  v.count.title = price ? `Each picture costs ${price} credits` : "";
}
function drawCost(v, t) {
  v.cost.textContent = t.get("cost", "");
}
function drawErrors(v, t) {
  v.promptError.textContent = t.get("prompt_error", "");
  v.countError.textContent = t.get("count_error", "");
  v.box.setAttribute("aria-invalid", String(Boolean(t.get("prompt_error", ""))));
}
function drawButtons(v, t) {
  const busy = t.get("submitting", false);
  v.generate.disabled = busy;
  v.generate.textContent = busy ? "Submitting…" : "Generate";
  v.retry.hidden = !t.get("can_retry", false);
  v.retry.disabled = busy;
}
function drawStatus(v, t) {
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
function drawPlan(v, t) {
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
function drawConfirm(v, t, sendMsg) {
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
function drawBudget(v, t) {
  v.budget.textContent = t.get("budget_text", "");
  v.budget.hidden = !v.budget.textContent;
}
function drawHistory(v, t) {
  const items = t.get("history", []);
  v.history.replaceChildren();
  v.history.hidden = items.length === 0;
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
var ANSWERS = ["submitting", "can_retry", "prompt", "count", "cost", "prompt_error", "count_error"];
ANSWERS.push("status", "status_kind", "batch_id", "history", "variants", "plan", "confirm", "budget_text");
function drawers(v, t, s, sendMsg) {
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
    [["history"], () => drawHistory(v, t)]
  ];
}

// js/form/view.js
function buildForm() {
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
  counter.setAttribute("aria-hidden", "true");
  boxWrap.append(box, counter);
  const history = h("select", "qw-select qw-history");
  history.setAttribute("aria-label", "Recent prompts");
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
    status
  };
}

// js/form.js
var PROMPT_DEBOUNCE_MS = 250;
function render({ model, el }) {
  const t = traits(model);
  const v = buildForm();
  el.classList.add("qw-form");
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  el.append(...v.root);
  const sendMsg = (msg) => model.send(msg);
  const state = { sentPrompt: t.get("prompt", "") };
  let promptTimer;
  function pushPrompt() {
    clearTimeout(promptTimer);
    if (v.box.value === state.sentPrompt) return;
    state.sentPrompt = v.box.value;
    t.set("prompt", v.box.value);
  }
  function commitCount() {
    const current = t.get("count", t.get("min_count", 0));
    const value = snapCount(Number(v.count.value), current, t.get("min_count", 0), t.get("max_count", 0));
    v.count.value = String(value);
    if (value !== current) t.set("count", value);
  }
  function submit() {
    pushPrompt();
    commitCount();
    if (t.get("submitting", false)) return;
    v.generate.disabled = true;
    sendMsg(send.generate(v.box.value, Number(v.count.value)));
  }
  v.box.addEventListener("input", () => {
    drawCounter(v, t);
    clearTimeout(promptTimer);
    promptTimer = setTimeout(pushPrompt, PROMPT_DEBOUNCE_MS);
  });
  v.box.addEventListener("blur", pushPrompt);
  v.box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.stopPropagation();
      submit();
    }
  });
  v.count.addEventListener("change", commitCount);
  v.count.addEventListener("blur", commitCount);
  v.count.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      commitCount();
      if (event.ctrlKey || event.metaKey) submit();
    }
  });
  v.generate.addEventListener("click", submit);
  v.retry.addEventListener("click", () => sendMsg(send.retry()));
  v.history.addEventListener("change", () => {
    if (v.history.value !== "") sendMsg(send.history(Number(v.history.value)));
  });
  v.box.value = t.get("prompt", "");
  const parts = drawers(v, t, state, sendMsg);
  const listeners = [];
  for (const [names, draw] of parts) {
    for (const name of names) listeners.push([`change:${name}`, draw]);
    draw();
  }
  const unlisten = listen(model, listeners);
  return () => {
    clearTimeout(promptTimer);
    unlisten();
  };
}
var form_default = { render };
export {
  form_default as default
};
