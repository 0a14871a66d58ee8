// Cards: one figure per scenery (a placeholder while it is made, its picture once done), kept
// between redraws. A card whose fields change is redrawn inside the same figure element, so focus,
// scroll position and listeners survive a patch.

import { h } from "../dom.js";
import { captionOf, elapsed, LIVE_STATES, TIMED_STATES, voteOf } from "../format.js";
import { markBadge } from "./marks.js";

/** @typedef {import("../types.js").Card} Card */

/**
 * What drawing a card needs from its view.
 * @typedef {object} CardContext
 * @property {(id: string) => {v: number, url: string} | undefined} picture the thumbnail held
 * @property {() => number} thumbPx side of a thumbnail, in pixels
 * @property {(id: string) => void} open
 * @property {(id: string, on: boolean, range: boolean) => void} select `range`: Shift was held
 * @property {(id: string) => import("./marks.js").Mark} mark the person's mark on it
 * @property {(event: KeyboardEvent, id: string) => void} key a key on a focused card (review keys)
 */

/**
 * Fills `node` (a `figure`) with what `card` shows now.
 * @param {HTMLElement} node
 * @param {Card} card
 * @param {boolean} selected
 * @param {CardContext} ctx
 */
export function fillCard(node, card, selected, ctx) {
  node.className = `qw-card qw-${card.state}${selected ? " qw-selected" : ""}`;
  node.tabIndex = 0;
  node.dataset.id = card.id;
  node.dataset.state = card.state;
  const caption = captionOf(card);
  node.setAttribute("aria-label", `${caption}. ${card.label || "Finished"}. Press Enter to open large.`);

  const tile = h("div", "qw-tile");
  const pic = ctx.picture(card.id);
  if (card.state === "done" && pic && pic.v === card.thumb) {
    const img = h("img", "qw-thumb qw-thumb-real");
    img.src = pic.url;
    img.alt = caption;
    img.width = ctx.thumbPx();
    img.height = ctx.thumbPx();
    img.draggable = false;
    tile.append(img);
  } else {
    tile.append(placeholder(card, caption));
  }
  if (card.state !== "failed") {
    // A failed picture has nothing to download or review: no box to tick (Python refuses it too).
    const pick = h("input", "qw-pick");
    pick.type = "checkbox";
    pick.checked = selected;
    pick.setAttribute("aria-label", `Select ${caption}`);
    let range = false;
    pick.addEventListener("click", (event) => {
      event.stopPropagation();
      range = event.shiftKey;
    });
    pick.addEventListener("change", () => ctx.select(card.id, pick.checked, range));
    tile.append(pick);
  }
  const badge = markBadge(ctx.mark(card.id));
  if (badge) tile.append(badge);

  const figcaption = h("figcaption", "qw-caption");
  const text = h("div", "qw-caption-text", caption);
  text.title = caption;
  const meta = h("div", "qw-meta");
  if (card.vote === "approved" || card.vote === "rejected") {
    // The service's vote only when it says something; "not reviewed" on every card says nothing.
    const [icon, word] = voteOf(card.vote);
    const vote = h("span", `qw-vote qw-vote-${card.vote}`);
    vote.title = `The service's review: ${word}`;
    vote.append(h("span", "qw-vote-icon", icon), document.createTextNode(` Service: ${word}`));
    meta.append(vote);
  }
  if (card.created) meta.append(h("span", "qw-created", card.created));
  figcaption.append(text, meta);
  node.replaceChildren(tile, figcaption);
}

/**
 * @param {Card} card
 * @param {string} caption
 */
function placeholder(card, caption) {
  const ph = h("div", "qw-placeholder");
  ph.setAttribute("role", "img");
  ph.setAttribute("aria-label", `${caption}: ${card.label || "loading picture"}`);
  if (LIVE_STATES.has(card.state)) ph.append(h("span", "qw-spinner"));
  ph.append(h("span", "qw-state-label", card.state === "done" ? "Loading picture…" : card.label));
  if (TIMED_STATES.has(card.state) && card.since) {
    const time = h("span", "qw-elapsed", elapsed(card.since));
    time.dataset.since = String(card.since);
    ph.append(time);
  }
  return ph;
}

/**
 * A new card element; its listeners open the card by id, so later fills keep them valid.
 * @param {Card} card
 * @param {boolean} selected
 * @param {CardContext} ctx
 */
export function drawCard(card, selected, ctx) {
  const node = h("figure");
  const id = card.id;
  fillCard(node, card, selected, ctx);
  node.addEventListener("click", () => ctx.open(id));
  node.addEventListener("keydown", (event) => {
    if (event.target !== node) return; // the checkbox's own Space
    ctx.key(event, id);
  });
  return node;
}

/** The card elements of one view, by scenery id, each redrawn only when what it shows changed. */
export class CardCache {
  /** @param {CardContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    /** @type {Map<string, {key: string, node: HTMLElement}>} */
    this.drawn = new Map();
  }

  /**
   * The element of `card`, up to date.
   * @param {Card} card
   * @param {boolean} selected
   */
  node(card, selected) {
    const key = JSON.stringify([card, selected, this.ctx.picture(card.id)?.v || 0, this.ctx.mark(card.id)]);
    const entry = this.drawn.get(card.id);
    if (!entry) {
      const node = drawCard(card, selected, this.ctx);
      this.drawn.set(card.id, { key, node });
      return node;
    }
    if (entry.key !== key) {
      fillCard(entry.node, card, selected, this.ctx);
      entry.key = key;
    }
    return entry.node;
  }

  /**
   * A grid of the cards with these ids (unknown ids are skipped).
   * @param {string[]} ids
   * @param {Map<string, Card>} byId
   * @param {Set<string>} selected
   */
  grid(ids, byId, selected) {
    const box = h("div", "qw-grid");
    box.style.setProperty("--qw-thumb", `${this.ctx.thumbPx()}px`);
    for (const id of ids) {
      const card = byId.get(id);
      if (card) box.append(this.node(card, selected.has(id)));
    }
    return box;
  }

  /** @param {Set<string>} live forget the elements of every other card */
  keepOnly(live) {
    for (const id of [...this.drawn.keys()]) if (!live.has(id)) this.drawn.delete(id);
  }

  /** @param {string} id */
  get(id) {
    return this.drawn.get(id)?.node;
  }
}
