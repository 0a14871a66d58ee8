// The large view: one picture (or 2-4 compared) over the whole window with its facts, a bar of
// controls that stays at the top (Previous/Next/Close, zoom, tiles, compare modes, product), Copy id.
// It is a modal dialog attached to document.body only while open; Tab stays inside it, Esc and the
// backdrop close it, and the focus goes back where it was. The picture area is stage.js.

import { h } from "../shared/dom.js";
import { captionOf, stepId } from "../shared/format.js";
import { placeBadge } from "../shared/marks.js";
import { canCompare, comparisonOf, neighbours, stepOrder } from "./compare.js";
import { facts, noteOf, trapTab } from "./facts.js";
import { fallbackKey, largeBar } from "./largebar.js";
import { createPictureArea } from "./picture.js";

/** @typedef {import("../shared/types.js").Card} Card */
/** @typedef {import("../grid/toolbar.js").CanvasTraits} CanvasTraits */

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
 * @property {import("../shared/store.js").UiStore} store the view's UI state (compared, zoom, modes)
 * @property {import("../grid/pictures.js").PictureStore} pictures
 * @property {(id: string) => Card | undefined} card
 * @property {() => string[]} order ids in the order Previous/Next step through
 * @property {(msg: object, buffers?: ArrayBuffer[]) => void} send
 * @property {() => void} askForPictures
 * @property {ReturnType<typeof import("../shared/marks.js").createMarks>} marks marks and their keys
 */

/** @param {LargeViewContext} ctx */
export function createLargeView(ctx) {
  const { el, t, store, pictures } = ctx;
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
  const area = createPictureArea(ctx);
  /** Where the marks go: the side, and each pane when compared. @type {Array<[Element, string, "first" | "last"]>} */
  let badgeSlots = [];
  const compared = () => store.get("compared");

  const close = () => t.set("open_id", "");
  const comparing = () => compared().length > 1 && compared().includes(t.get("open_id", ""));
  const runs = () => (t.get("mode", "library") === "runs" ? t.get("runs", []) : []);
  /** @param {number} delta */
  const step = (delta) => {
    const id = t.get("open_id", "");
    const order = comparing() ? compared() : stepOrder(runs(), ctx.order(), id);
    const next = stepId(order, id, delta);
    if (next !== null) t.set("open_id", next);
  };

  function hide() {
    overlay.hidden = true;
    area.dispose();
    badgeSlots = [];
    overlay.replaceChildren();
    overlay.remove();
  }

  function draw() {
    const id = t.get("open_id", "");
    const p = t.get("preview", {});
    if (!id) {
      store.set("compared", []);
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
    if (!compared().includes(id)) store.set("compared", []);
    lastOpened = id;
    const active = document.activeElement;
    const focusClass = active instanceof HTMLElement && overlay.contains(active) ? active.className : "";
    const card = ctx.card(id);
    overlay.replaceChildren();
    overlay.hidden = false;
    // Outside the output's containers, so it covers the page; inside the view's shadow root when the
    // host draws widgets in one (marimo), since the widget's CSS reaches only that root.
    const root = el.getRootNode();
    if (!overlay.isConnected) (root instanceof ShadowRoot ? root : document.body).appendChild(overlay);
    const caption = p.prompt || p.name || captionOf(card || {});
    const ids = comparing() ? compared() : [id];
    const panel = h("div", "qw-large");
    panel.classList.toggle("qw-large-comparing", ids.length > 1);
    const zoomText = h("span", "qw-zoom-text");
    const { node: picture, panes } = area.show(id, ids, zoomText);
    badgeSlots =
      ids.length > 1 && panes.length === ids.length ? ids.map((x, i) => [panes[i], x, "last"]) : [];
    if (ids.length === 1) picture.append(h("div", "qw-stage-note", noteOf(p, card, !!pictures.large(id))));
    const where = comparisonOf(runs(), id);
    const canUse = t.get("can_use_prompt", false);
    const side = facts({ id, p, caption, where, comparing: comparing(), canUse, send: ctx.send });
    badgeSlots.push([side, id, "first"]);
    showMarks();
    panel.append(bar(id, zoomText), picture, side);
    overlay.append(panel);
    overlay.setAttribute("aria-label", `Large view: ${caption}`);
    area.apply();
    const again = focusClass ? overlay.getElementsByClassName(focusClass.split(" ")[0])[0] : null;
    if (again instanceof HTMLElement) again.focus();
    else if (!overlay.contains(document.activeElement)) overlay.focus();
    ctx.askForPictures();
  }

  /** The marks where the large view shows them, each badge replaced only when its mark changed. */
  function showMarks() {
    for (const [parent, id, where] of badgeSlots) placeBadge(parent, ctx.marks.get(id), where);
  }

  /** @param {string} id @param {HTMLElement} zoomText */
  function bar(id, zoomText) {
    const where = comparing() ? null : comparisonOf(runs(), id);
    return largeBar({
      zoomText,
      where: where ? `${where.index} of ${where.total}` : "",
      comparing: comparing() ? compared().length : 0,
      store,
      productHeld: !!(pictures.product && t.get("product", {}).w),
      act: (name) => ACTIONS[name]?.(),
      sendBytes: ctx.send,
    });
  }

  /** @param {"tiled" | "slider"} mode */
  const toggle = (mode) => store.update("modes", (modes) => ({ ...modes, [mode]: !modes[mode] }));
  const stopModes = store.subscribe("modes", () => draw());
  const stopMarks = store.subscribe("pending", () => showMarks());

  /** What each key of the large view does; a mark's `advance` moves on (the toggle, Shift inverts). */
  /** @type {Record<string, () => void>} */
  const ACTIONS = {
    close,
    next: () => step(1),
    prev: () => step(-1),
    zoom_in: () => area.zoomIn(),
    zoom_out: () => area.zoomOut(),
    zoom_toggle: () => area.toggleFull(),
    tile: () => (comparing() ? undefined : toggle("tiled")),
    slider: () => (comparing() && compared().length === 2 ? toggle("slider") : undefined),
    toggle_select: () => {
      const id = t.get("open_id", "");
      const selected = t.get("selected_ids", []);
      t.set("selected_ids", selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id]);
    },
  };

  overlay.addEventListener("keydown", (event) => {
    const onSlider = event.target instanceof HTMLElement && event.target.classList.contains("qw-divider");
    if (onSlider && (event.key === "ArrowLeft" || event.key === "ArrowRight")) return;
    const id = t.get("open_id", "");
    // The compare view marks the picture chosen with ←/→ (the open one), so choosing is one key.
    const where = { context: /** @type {"large"} */ ("large"), focusedId: id, selectedIds: [] };
    const marked = ctx.marks.handleReviewKey(event, { ...where, autoAdvance: store.get("advance") });
    const name = marked ? marked.name : fallbackKey(event);
    if (name === "slider" || (!marked && name)) {
      event.preventDefault();
      event.stopPropagation();
    }
    if (name && ACTIONS[name]) ACTIONS[name]();
    else if (marked?.advance) step(1);
    else if (!name && trapTab(overlay, event)) {
      event.preventDefault();
      event.stopPropagation();
    }
  });
  overlay.addEventListener("click", (event) => {
    if (event.target === overlay) close();
  });

  return {
    overlay,
    draw,
    showMarks,
    /** A person opened a card in this view: the large view shows here. @param {string} id */
    open(id) {
      owner = self;
      lastFocus = document.activeElement;
      t.set("open_id", id);
    },
    /**
     * Opens 2-4 pictures side by side (C with a selection, or the Compare button); false otherwise.
     * @param {string[]} ids
     */
    compare(ids) {
      if (!canCompare(ids.length)) return false;
      owner = self;
      lastFocus = document.activeElement;
      store.set("compared", [...ids]);
      if (t.get("open_id", "") === ids[0]) draw();
      else t.set("open_id", ids[0]);
      return true;
    },
    /**
     * Thumbnails (or cards) changed: drawn again only when one of them stands in on the stage now.
     * @param {string[]} ids
     */
    thumbsArrived(ids) {
      if (ids.some((id) => this.shows(id) && !pictures.large(id))) draw();
    },
    /** Whether `id` is on the stage now. @param {string} id */
    shows(id) {
      const open = t.get("open_id", "");
      return id === open || (comparing() && compared().includes(id));
    },
    /** The large pictures to have ready: the compared ones, else the open one's neighbours. */
    ahead() {
      const id = t.get("open_id", "");
      if (!id) return [];
      if (comparing()) return compared();
      return neighbours(stepOrder(runs(), ctx.order(), id), id);
    },
    dispose() {
      stopModes();
      stopMarks();
      if (owner === self) owner = null;
      area.dispose();
      overlay.remove();
    },
  };
}
