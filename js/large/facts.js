// The large view's side and focus trap: where a picture sits (template, cell, "3 of 12"), its prompt,
// facts, id, actions and keys; Tab kept inside the dialog.

import { button, h } from "../shared/dom.js";
import { voteOf } from "../shared/format.js";
import { send } from "../shared/protocol.js";

/** What a focus trap may land on. */
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex="0"]';

/**
 * Keeps Tab and Shift+Tab inside `container`: from the last control to the first and back.
 * Returns whether it moved the focus (the event is then handled).
 * @param {HTMLElement} container
 * @param {KeyboardEvent} event
 */
export function trapTab(container, event) {
  if (event.key !== "Tab") return false;
  const items = /** @type {HTMLElement[]} */ ([...container.querySelectorAll(FOCUSABLE)]);
  if (!items.length) return false;
  const first = items[0];
  const last = items[items.length - 1];
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && container.contains(active) && active !== container;
  if (event.shiftKey && (!inside || active === first)) {
    last.focus();
    return true;
  }
  if (!event.shiftKey && (!inside || active === last)) {
    first.focus();
    return true;
  }
  return false;
}

/**
 * @param {string} text
 * @param {HTMLElement} node
 */
async function copyText(text, node) {
  try {
    await navigator.clipboard.writeText(text);
    node.textContent = "Copied";
  } catch {
    node.textContent = "Select and copy";
  }
  setTimeout(() => {
    node.textContent = "Copy id";
  }, 1500);
}

/**
 * The side of the large view: where the picture sits, its prompt, facts, id and actions.
 * @param {object} o
 * @param {string} o.id
 * @param {import("../shared/types.js").Preview} o.p
 * @param {string} o.caption
 * @param {ReturnType<typeof import("./compare.js").comparisonOf>} o.where
 * @param {boolean} o.comparing
 * @param {boolean} o.canUse whether "Use this prompt" is offered
 * @param {(msg: object) => void} o.send
 */
export function facts({ id, p, caption, where, comparing, canUse, send: sendMsg }) {
  const node = h("div", "qw-large-side");
  if (where) {
    node.append(h("div", "qw-large-template", `Template: ${where.template}`));
    node.append(h("div", "qw-large-cell", `${where.cell} · ${where.index} of ${where.total}`));
  }
  node.append(h("h3", "qw-large-prompt", caption));
  if (p.prompt && p.name && p.name !== p.prompt) node.append(h("div", "qw-large-name", `Name: ${p.name}`));
  const list = h("dl", "qw-facts");
  /** @param {string} term @param {string | undefined} value */
  const fact = (term, value) => {
    if (value) list.append(h("dt", "", term), h("dd", "", value));
  };
  fact("Status", p.label || (p.state === "done" ? "Done" : ""));
  const [icon, word] = voteOf(p.vote);
  fact("Review", `${icon} ${word}`);
  fact("Created", p.created);
  node.append(list);
  const idRow = h("div", "qw-id-row");
  idRow.append(h("code", "qw-id", id));
  const copy = button("Copy id", "qw-copy", () => copyText(id, copy));
  idRow.append(copy);
  node.append(idRow);
  const actions = h("div", "qw-large-actions");
  if (p.url) {
    const link = h("a", "qw-btn qw-original", "Open original ↗");
    link.href = p.url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    actions.append(link);
  }
  if (canUse) {
    actions.append(button("Use this prompt", "qw-use-prompt", () => sendMsg(send.usePrompt(id))));
  }
  node.append(actions);
  const keys = comparing ? "← → choose a picture · S slider" : "← → move · T tiles";
  node.append(h("div", "qw-hint", `${keys} · wheel or + − zoom · drag pans · Z 100 % · Esc closes`));
  return node;
}

/**
 * What the stage says while the large picture is not there.
 * @param {import("../shared/types.js").Preview} p
 * @param {import("../shared/types.js").Card | undefined} card
 * @param {boolean} held
 */
export function noteOf(p, card, held) {
  if (held) return "";
  if (p.image === "failed") return "The full picture could not be loaded.";
  if (p.image === "none") return p.label || card?.label || "No picture yet";
  return "Loading the full picture…";
}
