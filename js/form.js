// The prompt form: a prompt box with a live counter, a count held inside the contract's limits, the
// cost, Generate (or Ctrl/Cmd+Enter) and the outcome. Python validates, submits and journals; this
// only draws the traits and sends "generate", "retry", "confirm" and "history" intents. Each trait
// change redraws only the part that shows it (form/draw.js `drawers`).

import { drawCounter, drawers } from "./form/draw.js";
import { buildForm } from "./form/view.js";
import { listen, traits } from "./shared/dom.js";
import { snapCount } from "./shared/format.js";
import { send } from "./shared/protocol.js";

/** How long typing may pause before the prompt is sent to Python. */
const PROMPT_DEBOUNCE_MS = 250;

/** @type {import("@anywidget/types").Render<import("./shared/types.js").FormModel>} */
function render({ model, el }) {
  const t = traits(model);
  const v = buildForm();
  el.classList.add("qw-form");
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  el.append(...v.root);
  /** @param {object} msg */
  const sendMsg = (msg) => model.send(msg);
  /** @type {import("./form/draw.js").FormState} */
  const state = { sentPrompt: t.get("prompt", "") };

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let promptTimer;
  function pushPrompt() {
    clearTimeout(promptTimer);
    if (v.box.value === state.sentPrompt) return;
    state.sentPrompt = v.box.value;
    t.set("prompt", v.box.value);
  }

  // The count never holds a fraction or a value outside the limits: it snaps when the person leaves it.
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
    v.generate.disabled = true; // until Python answers: a double click cannot send twice
    // The fields travel with the intent: a state update may be held back while the kernel is busy,
    // and Generate must send exactly what is on screen.
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
  // "Edit" on a run: the prompt is in the box, and so is the keyboard.
  const focusPrompt = () => v.box.focus();
  v.history.addEventListener("change", () => {
    if (v.history.value !== "") sendMsg(send.history(Number(v.history.value)));
  });

  v.box.value = t.get("prompt", "");
  const parts = drawers(v, t, state, sendMsg);
  /** @type {Array<[string, () => void]>} */
  const listeners = [];
  for (const [names, draw] of parts) {
    for (const name of names) listeners.push([`change:${name}`, draw]);
    draw();
  }
  listeners.push(["change:focus_prompt", focusPrompt]);
  const unlisten = listen(model, listeners);

  return () => {
    clearTimeout(promptTimer);
    unlisten();
  };
}

export default { render };
