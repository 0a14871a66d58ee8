// Cards: one figure per scenery (a placeholder while it is made, its picture once done). A card is made
// once and painted part by part: its frame (state, selection), its picture, its box to tick, its mark
// and its caption each change only when what they show changed, so a mark adds one badge, a picture
// replaces one placeholder, and focus and listeners stay with the figure.

import { h } from "../shared/dom.js";
import { captionOf, elapsed, LIVE_STATES, TIMED_STATES, voteOf } from "../shared/format.js";
import { markBadge } from "../shared/marks.js";

/** @typedef {import("../shared/types.js").Card} Card */
/** @typedef {import("../shared/marks.js").Mark} Mark */

/**
 * What painting a card needs from its view.
 * @typedef {object} CardContext
 * @property {(id: string) => {v: number, url: string} | undefined} picture the thumbnail held
 * @property {() => number} thumbPx side of a thumbnail, in pixels
 * @property {(id: string) => void} open
 * @property {(id: string, on: boolean, range: boolean) => void} select `range`: Shift was held
 * @property {(id: string) => Mark} mark the person's mark on it
 * @property {(event: KeyboardEvent, id: string) => void} key a key on a focused card (review keys)
 */

/** One card's figure and what each of its parts shows now. */
export class CardView {
  /**
   * @param {string} id
   * @param {CardContext} ctx
   */
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.node = h("figure");
    this.node.tabIndex = 0;
    this.node.dataset.id = id;
    this.tile = h("div", "qw-tile");
    this.caption = h("figcaption", "qw-caption");
    /** @type {HTMLElement | null} the picture or its placeholder */
    this.picture = null;
    /** @type {HTMLInputElement | null} */
    this.pick = null;
    /** @type {HTMLElement | null} */
    this.badge = null;
    /** What each part was painted from (a part is painted again only when its key changes). */
    this.painted = { frame: "", picture: "", pick: "", mark: "", caption: "" };
    this.node.append(this.tile, this.caption);
    this.node.addEventListener("click", () => ctx.open(id));
    this.node.addEventListener("keydown", (event) => {
      if (event.target !== this.node) return; // the checkbox's own Space
      ctx.key(event, id);
    });
  }

  /**
   * Brings every part up to `card`; unchanged parts are not touched.
   * @param {Card} card
   * @param {boolean} selected
   */
  paint(card, selected) {
    const caption = captionOf(card);
    this.paintFrame(card, selected, caption);
    this.paintPicture(card, caption);
    this.paintPick(card, selected, caption);
    this.paintMark(this.ctx.mark(this.id));
    this.paintCaption(card, caption);
  }

  /** @param {Card} card @param {boolean} selected @param {string} caption */
  paintFrame(card, selected, caption) {
    const label = `${caption}. ${card.label || "Finished"}. Press Enter to open large.`;
    const key = `${card.state}|${selected}|${label}`;
    if (this.painted.frame === key) return;
    this.painted.frame = key;
    this.node.className = `qw-card qw-${card.state}${selected ? " qw-selected" : ""}`;
    this.node.dataset.state = card.state;
    this.node.setAttribute("aria-label", label);
  }

  /** @param {Card} card @param {string} caption */
  paintPicture(card, caption) {
    const pic = this.ctx.picture(this.id);
    const url = card.state === "done" && pic && pic.v === card.thumb ? pic.url : "";
    const timed = TIMED_STATES.has(card.state) && card.since ? card.since : 0;
    const key = JSON.stringify([
      url,
      url ? this.ctx.thumbPx() : card.state,
      caption,
      url ? "" : card.label,
      timed,
    ]);
    if (this.painted.picture === key) return;
    this.painted.picture = key;
    const next = url ? thumbnail(url, caption, this.ctx.thumbPx()) : placeholder(card, caption);
    if (this.picture) this.picture.replaceWith(next);
    else this.tile.prepend(next);
    this.picture = next;
  }

  /** A failed picture has nothing to download or review: no box to tick (Python refuses it too). */
  /** @param {Card} card @param {boolean} selected @param {string} caption */
  paintPick(card, selected, caption) {
    const key = card.state === "failed" ? "" : `${selected}|${caption}`;
    if (this.painted.pick === key) return;
    this.painted.pick = key;
    if (!key) {
      this.pick?.remove();
      this.pick = null;
      return;
    }
    if (!this.pick) {
      this.pick = checkbox(this.id, this.ctx);
      this.picture?.after(this.pick);
    }
    this.pick.checked = selected;
    this.pick.setAttribute("aria-label", `Select ${caption}`);
  }

  /** @param {Mark | undefined} mark */
  paintMark(mark) {
    const key = mark && (mark.flag || mark.stars) ? `${mark.flag}|${mark.stars}` : "";
    if (this.painted.mark === key) return;
    this.painted.mark = key;
    const next = markBadge(mark);
    if (this.badge && next) this.badge.replaceWith(next);
    else if (this.badge) this.badge.remove();
    else if (next) this.tile.append(next);
    this.badge = next;
  }

  /** @param {Card} card @param {string} caption */
  paintCaption(card, caption) {
    const key = JSON.stringify([caption, card.vote, card.created]);
    if (this.painted.caption === key) return;
    this.painted.caption = key;
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
    this.caption.replaceChildren(text, meta);
  }
}

/**
 * @param {string} url
 * @param {string} caption
 * @param {number} side
 */
function thumbnail(url, caption, side) {
  const img = h("img", "qw-thumb qw-thumb-real");
  img.alt = caption;
  img.width = side;
  img.height = side;
  img.draggable = false;
  img.decoding = "async";
  img.src = url;
  return img;
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
 * The box to tick: a click with Shift ticks the range from the card ticked before.
 * @param {string} id
 * @param {CardContext} ctx
 */
function checkbox(id, ctx) {
  const pick = h("input", "qw-pick");
  pick.type = "checkbox";
  let range = false;
  pick.addEventListener("click", (event) => {
    event.stopPropagation();
    range = event.shiftKey;
  });
  pick.addEventListener("change", () => ctx.select(id, pick.checked, range));
  return pick;
}

/**
 * A new card element painted as `card` shows now.
 * @param {Card} card
 * @param {boolean} selected
 * @param {CardContext} ctx
 */
export function drawCard(card, selected, ctx) {
  const view = new CardView(card.id, ctx);
  view.paint(card, selected);
  return view.node;
}
