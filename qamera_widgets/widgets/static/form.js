// The prompt form: a prompt box with a live counter, a count that only ever holds 1-20, the cost,
// Generate (or Ctrl/Cmd+Enter) and the outcome. Python validates, submits and journals; this only
// draws the traits and sends "generate", "retry" and "history" intents.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function render({ model, el }) {
  el.classList.add("qw-form");
  el.setAttribute("data-lm-suppress-shortcuts", "true");

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
  count.min = "1";
  count.max = "20";
  count.step = "1";
  count.inputMode = "numeric";
  count.setAttribute("aria-label", "How many pictures (1 to 20)");
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

  el.append(head, boxWrap, promptError, plan, row, countError, confirmBox, budget, status);

  const get = (name, fallback) => {
    const value = model.get(name);
    return value === undefined || value === null ? fallback : value;
  };

  let sentPrompt = get("prompt", "");
  let promptTimer = null;
  function pushPrompt() {
    clearTimeout(promptTimer);
    if (box.value === sentPrompt) return;
    sentPrompt = box.value;
    model.set("prompt", box.value);
    model.save_changes();
  }

  function drawCounter() {
    const n = box.value.length;
    const max = get("max_chars", 2000);
    counter.textContent = `${n.toLocaleString()} / ${max.toLocaleString()}`;
    counter.classList.toggle("qw-over", n > max);
  }

  function drawHead() {
    heading.textContent = get("heading", "");
    badge.textContent = get("badge", "");
    account.textContent = get("account", "");
    notice.textContent = get("notice", "");
    for (const node of [heading, badge, account, notice]) node.hidden = !node.textContent;
    head.hidden = !heading.textContent && !badge.textContent && !account.textContent && !notice.textContent;
  }

  function drawState() {
    if (document.activeElement !== box && box.value !== get("prompt", "")) {
      box.value = get("prompt", "");
      sentPrompt = box.value;
    }
    if (document.activeElement !== count) count.value = String(get("count", 10));
    cost.textContent = get("cost", "");
    promptError.textContent = get("prompt_error", "");
    countError.textContent = get("count_error", "");
    box.setAttribute("aria-invalid", String(Boolean(get("prompt_error", ""))));
    const busy = get("submitting", false);
    generate.disabled = busy;
    generate.textContent = busy ? "Submitting…" : "Generate";
    retry.hidden = !get("can_retry", false);
    retry.disabled = busy;
    status.replaceChildren();
    status.className = `qw-form-status${get("status_kind", "info") === "error" ? " qw-error" : ""}`;
    const text = get("status", "");
    if (text) status.append(document.createTextNode(text));
    const batch = get("batch_id", "");
    if (batch) {
      status.append(document.createTextNode(" Batch "));
      const code = h("code", "qw-id", batch);
      code.title = "The batch id: select to copy";
      status.append(code);
    }
    drawPlan();
    drawConfirm();
    budget.textContent = get("budget_text", "");
    budget.hidden = !budget.textContent;
    const items = get("history", []);
    history.replaceChildren();
    history.hidden = items.length === 0;
    const placeholder = h("option", "", `Recent prompts (${items.length})…`);
    placeholder.value = "";
    placeholder.selected = true;
    history.append(placeholder);
    items.forEach((item, index) => {
      const option = h("option", "", item.label);
      option.value = String(index);
      option.title = item.prompt;
      history.append(option);
    });
    drawCounter();
  }

  function drawPlan() {
    plan.replaceChildren();
    const variants = get("variants", []);
    plan.hidden = variants.length === 0;
    if (!variants.length) return;
    plan.append(h("div", "qw-plan-head", get("plan", "") || `${variants.length} prompts`));
    const list = h("ol", "qw-plan-list");
    for (const variant of variants) {
      const item = h("li", "qw-plan-item");
      for (const [text, varies] of variant.parts) item.append(varies ? h("mark", "qw-varies", text) : document.createTextNode(text));
      list.append(item);
    }
    plan.append(list);
  }

  function drawConfirm() {
    confirmBox.replaceChildren();
    const question = get("confirm", "");
    confirmBox.hidden = !question;
    if (!question) return;
    const yes = h("button", "qw-btn qw-primary qw-confirm-yes", "Yes, generate");
    yes.type = "button";
    yes.addEventListener("click", () => model.send({ kind: "confirm", yes: true }));
    const no = h("button", "qw-btn qw-confirm-no", "Cancel");
    no.type = "button";
    no.addEventListener("click", () => model.send({ kind: "confirm", yes: false }));
    confirmBox.append(h("span", "qw-confirm-text", question), yes, no);
    if (!confirmBox.contains(document.activeElement)) yes.focus({ preventScroll: true });
  }

  function submit() {
    pushPrompt();
    commitCount();
    if (get("submitting", false)) return;
    generate.disabled = true; // until Python answers: a double click cannot send twice
    // The fields travel with the intent: a state update may be held back while the kernel is busy,
    // and Generate must send exactly what is on screen.
    model.send({ kind: "generate", prompt: box.value, count: Number(count.value) });
  }

  // The count never holds a fraction or a value outside 1-20: it snaps when the person leaves it.
  function commitCount() {
    const raw = Number(count.value);
    let value = Number.isFinite(raw) ? Math.round(raw) : get("count", 10);
    value = Math.min(20, Math.max(1, value));
    count.value = String(value);
    if (value !== get("count", 10)) {
      model.set("count", value);
      model.save_changes();
    }
  }

  box.addEventListener("input", () => {
    drawCounter();
    clearTimeout(promptTimer);
    promptTimer = setTimeout(pushPrompt, 250);
  });
  box.addEventListener("blur", pushPrompt);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.stopPropagation();
      submit();
    }
  });
  count.addEventListener("change", commitCount);
  count.addEventListener("blur", commitCount);
  count.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      commitCount();
      if (event.ctrlKey || event.metaKey) submit();
    }
  });
  generate.addEventListener("click", submit);
  retry.addEventListener("click", () => model.send({ kind: "retry" }));
  history.addEventListener("change", () => {
    if (history.value !== "") model.send({ kind: "history", index: Number(history.value) });
  });

  const names = ["prompt", "count", "cost", "prompt_error", "count_error", "submitting", "can_retry", "status",
    "status_kind", "batch_id", "history", "variants", "plan", "confirm", "budget_text"];
  for (const name of names) model.on(`change:${name}`, drawState);
  for (const name of ["heading", "badge", "account", "notice"]) model.on(`change:${name}`, drawHead);
  box.value = get("prompt", "");
  drawHead();
  drawState();

  return () => {
    clearTimeout(promptTimer);
    for (const name of names) model.off(`change:${name}`, drawState);
    for (const name of ["heading", "badge", "account", "notice"]) model.off(`change:${name}`, drawHead);
  };
}

export default { render };
