// The large view: one picture over the page with its facts, Previous/Next, Copy id and Close.
// It is a modal dialog attached to document.body only while open; Tab stays inside it, Esc and the
// backdrop close it, and the focus goes back where it was.

import { button, h } from "../dom.js";
import { captionOf, stepId, voteOf } from "../format.js";
import { send } from "../protocol.js";

/** @typedef {import("../types.js").Card} Card */
/** @typedef {import("./toolbar.js").CanvasTraits} CanvasTraits */

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
 * Which view shows the large view when a widget is displayed more than once (or an old view was
 * detached without being removed): the one a person clicked in, else the first one on the page.
 * @type {{connected: () => boolean} | null}
 */
let owner = null;

/**
 * What the large view needs from its view.
 * @typedef {object} LargeViewContext
 * @property {HTMLElement} el the view's element
 * @property {CanvasTraits} t
 * @property {import("./pictures.js").PictureStore} store
 * @property {(id: string) => Card | undefined} card
 * @property {() => string[]} order ids in the order Previous/Next step through
 * @property {(msg: object) => void} send
 * @property {() => void} askForPictures
 * @property {ReturnType<typeof import("./marks.js").createMarks>} [review] marks and their keys
 */

/** @param {LargeViewContext} ctx */
export function createLargeView(ctx) {
  const { el, t, store } = ctx;
  const self = { connected: () => el.isConnected };
  const overlay = h("div", "qw-overlay");
  overlay.setAttribute("data-lm-suppress-shortcuts", "true");
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-modal", "true");
  overlay.tabIndex = -1;
  overlay.hidden = true; // attached to document.body only while a picture is open
  /** @type {Element | null} */
  let lastFocus = null;
  let lastOpened = "";

  const close = () => t.set("open_id", "");
  /** @param {number} delta */
  const step = (delta) => {
    const next = stepId(ctx.order(), t.get("open_id", ""), delta);
    if (next !== null) t.set("open_id", next);
  };

  function hide() {
    overlay.hidden = true;
    overlay.replaceChildren();
    overlay.remove();
  }

  function draw() {
    const id = t.get("open_id", "");
    const p = t.get("preview", {});
    if (!id) {
      if (!overlay.hidden) {
        hide();
        if (lastFocus instanceof HTMLElement && document.contains(lastFocus)) lastFocus.focus();
        else {
          const node = /** @type {HTMLElement | null} */ (
            el.querySelector(`.qw-card[data-id="${CSS.escape(lastOpened)}"]`)
          );
          if (node) node.focus();
        }
      }
      return;
    }
    if (!owner?.connected()) owner = el.isConnected ? self : owner;
    if (owner !== self || !el.isConnected) {
      hide();
      return;
    }
    lastOpened = id;
    const card = ctx.card(id);
    overlay.replaceChildren();
    overlay.hidden = false;
    // Outside the output's containers, so it covers the page; inside the view's shadow root when the
    // host draws widgets in one (marimo), since the widget's CSS reaches only that root.
    const root = el.getRootNode();
    if (!overlay.isConnected) (root instanceof ShadowRoot ? root : document.body).appendChild(overlay);
    const caption = p.prompt || p.name || captionOf(card || {});
    const panel = h("div", "qw-large");
    panel.append(stage(id, p, card, caption), side(id, p, caption));
    overlay.append(panel);
    overlay.setAttribute("aria-label", `Large view: ${caption}`);
    if (!overlay.contains(document.activeElement)) overlay.focus();
    ctx.askForPictures();
  }

  /**
   * @param {string} id
   * @param {import("../types.js").Preview} p
   * @param {Card | undefined} card
   * @param {string} caption
   */
  function stage(id, p, card, caption) {
    const node = h("div", "qw-stage");
    if (p.id === id && p.image === "ready" && store.large && store.large.id === id) {
      const img = h("img", "qw-large-img");
      img.src = store.large.url;
      img.alt = caption;
      node.append(img);
      return node;
    }
    const pic = store.thumb(id);
    if (pic) {
      const img = h("img", "qw-large-img qw-large-low");
      img.src = pic.url;
      img.alt = caption;
      node.append(img);
    }
    const note =
      p.image === "failed"
        ? "The full picture could not be loaded."
        : p.image === "none"
          ? p.label || card?.label || "No picture yet"
          : "Loading the full picture…";
    node.append(h("div", "qw-stage-note", note));
    return node;
  }

  /**
   * @param {string} id
   * @param {import("../types.js").Preview} p
   * @param {string} caption
   */
  function side(id, p, caption) {
    const node = h("div", "qw-large-side");
    node.append(h("h3", "qw-large-prompt", caption));
    if (p.prompt && p.name && p.name !== p.prompt) node.append(h("div", "qw-large-name", `Name: ${p.name}`));
    const facts = h("dl", "qw-facts");
    /** @param {string} term @param {string | undefined} value */
    const fact = (term, value) => {
      if (value) facts.append(h("dt", "", term), h("dd", "", value));
    };
    fact("Status", p.label || (p.state === "done" ? "Done" : ""));
    const [icon, word] = voteOf(p.vote);
    fact("Review", `${icon} ${word}`);
    fact("Created", p.created);
    node.append(facts);
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
    if (t.get("can_use_prompt", false)) {
      actions.append(button("Use this prompt", "qw-use-prompt", () => ctx.send(send.usePrompt(id))));
    }
    node.append(actions);
    const nav = h("div", "qw-large-nav");
    nav.append(
      button("‹ Previous", "qw-large-prev", () => step(-1), "Previous picture (←)"),
      button("Next ›", "qw-large-next", () => step(1), "Next picture (→)"),
      button("Close ✕", "qw-large-close", close, "Close (Esc)"),
    );
    node.append(nav, h("div", "qw-hint", "← → move · Esc closes"));
    return node;
  }

  overlay.addEventListener("keydown", (event) => {
    const id = t.get("open_id", "");
    const marked = ctx.review?.handleReviewKey(event, { context: "large", focusedId: id, selectedIds: [] });
    if (marked && marked.name !== "next" && marked.name !== "prev" && marked.name !== "close") {
      if (marked.advance) step(1);
      return;
    }
    if (event.key === "Escape") close();
    else if (event.key === "ArrowRight") step(1);
    else if (event.key === "ArrowLeft") step(-1);
    else if (!trapTab(overlay, event)) return;
    event.preventDefault();
    event.stopPropagation();
  });
  overlay.addEventListener("click", (event) => {
    if (event.target === overlay) close();
  });

  return {
    overlay,
    draw,
    /** A person opened a card in this view: the large view shows here. @param {string} id */
    open(id) {
      owner = self;
      lastFocus = document.activeElement;
      t.set("open_id", id);
    },
    dispose() {
      if (owner === self) owner = null;
      overlay.remove();
    },
  };
}
