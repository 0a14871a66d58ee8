// The pictures a view holds: each thumbnail and the one large picture as a blob URL, with the
// version it shows. A URL is revoked as soon as nothing can show it (a newer version arrived, its
// card left the view, the view was removed), so memory follows what is on screen.

import { picturesOf } from "../shared/protocol.js";

/** @typedef {import("../shared/types.js").Card} Card */
/** @typedef {import("../shared/types.js").Preview} Preview */
/** @typedef {import("../shared/protocol.js").Bytes} Bytes */

/**
 * @param {Bytes} buffer
 * @param {string} [fmt]
 */
export function blobUrl(buffer, fmt) {
  return URL.createObjectURL(new Blob([buffer], { type: `image/${fmt || "jpeg"}` }));
}

/** Large pictures a view keeps: the open one, its prefetched neighbours, up to four compared. */
const LARGE_HELD = 8;

export class PictureStore {
  constructor() {
    /** @type {Map<string, {v: number, url: string}>} scenery id -> the thumbnail held */
    this.thumbs = new Map();
    /** @type {Map<string, number>} scenery id -> version asked for and not yet received */
    this.asked = new Map();
    /** @type {Map<string, {url: string, w: number, h: number}>} large pictures held, oldest first */
    this.larges = new Map();
    /** @type {Set<string>} large pictures asked for and not yet received */
    this.largeAsked = new Set();
    /** @type {{url: string, v: number} | null} the product cutout */
    this.product = null;
  }

  /** @param {string} id */
  large(id) {
    return this.larges.get(id);
  }

  /** @param {string} id */
  thumb(id) {
    return this.thumbs.get(id);
  }

  /** @param {string} id */
  version(id) {
    const pic = this.thumbs.get(id);
    return pic ? pic.v : 0;
  }

  /**
   * What to ask Python for: the cards' pictures not held nor asked for yet, the large picture
   * when the preview says it is ready, and the large pictures of `ahead` (neighbours to prefetch,
   * pictures compared). Marks them asked; null when nothing is missing.
   * @param {Card[]} cards
   * @param {Preview} preview
   * @param {string[]} [ahead]
   */
  missing(cards, preview, ahead = []) {
    /** @type {string[]} */
    const ids = [];
    for (const card of cards) {
      if (!card.thumb) continue;
      const have = this.thumbs.get(card.id);
      if ((have && have.v === card.thumb) || this.asked.get(card.id) === card.thumb) continue;
      this.asked.set(card.id, card.thumb);
      ids.push(card.id);
    }
    let largeId = null;
    const wanted = preview && preview.image === "ready" ? preview.id || "" : "";
    if (wanted && !this.larges.has(wanted) && !this.largeAsked.has(wanted)) {
      largeId = wanted;
      this.largeAsked.add(wanted);
    }
    const previews = ahead.filter((id) => id !== wanted && !this.larges.has(id) && !this.largeAsked.has(id));
    for (const id of previews) this.largeAsked.add(id);
    return ids.length || largeId || previews.length ? { ids, preview: largeId, previews } : null;
  }

  /**
   * Takes the pictures of a "thumbs" or "patch" message; an older or equal version is ignored.
   * A patch's picture also raises its card's `thumb` (the field rides along with the picture).
   * @param {import("../shared/protocol.js").ThumbsMessage | import("../shared/protocol.js").PatchMessage} msg
   * @param {ReadonlyArray<Bytes>} buffers
   * @param {Map<string, Card>} byId
   */
  receive(msg, buffers, byId) {
    for (const { ref, data } of picturesOf(msg, buffers)) {
      const card = byId.get(ref.id);
      if (card && msg.kind === "patch" && (card.thumb || 0) < ref.v) card.thumb = ref.v;
      const old = this.thumbs.get(ref.id);
      if (old && old.v >= ref.v) continue;
      if (old) URL.revokeObjectURL(old.url);
      this.thumbs.set(ref.id, { v: ref.v, url: blobUrl(data, ref.fmt) });
      this.asked.delete(ref.id);
    }
  }

  /**
   * Keeps a large picture; past LARGE_HELD the oldest is revoked, so prefetching stays bounded.
   * @param {string} id
   * @param {Bytes} data
   * @param {string} [fmt]
   * @param {number} [w]
   * @param {number} [h]
   */
  receiveLarge(id, data, fmt, w = 0, h = 0) {
    const old = this.larges.get(id);
    if (old) URL.revokeObjectURL(old.url);
    this.larges.delete(id);
    this.larges.set(id, { url: blobUrl(data, fmt), w, h });
    this.largeAsked.delete(id);
    while (this.larges.size > LARGE_HELD) {
      const [oldest, pic] = /** @type {[string, {url: string}]} */ (this.larges.entries().next().value);
      URL.revokeObjectURL(pic.url);
      this.larges.delete(oldest);
    }
  }

  /** @param {Bytes} data @param {string} [fmt] @param {number} [v] */
  receiveProduct(data, fmt, v = 0) {
    if (this.product) URL.revokeObjectURL(this.product.url);
    this.product = { url: blobUrl(data, fmt || "png"), v };
  }

  /**
   * Drops (and revokes) the pictures of cards that left the view: if one comes back it is asked again.
   * @param {Set<string>} keep
   */
  keepOnly(keep) {
    for (const [id, pic] of this.thumbs) {
      if (keep.has(id)) continue;
      URL.revokeObjectURL(pic.url);
      this.thumbs.delete(id);
    }
    for (const id of [...this.asked.keys()]) if (!keep.has(id)) this.asked.delete(id);
  }

  dispose() {
    for (const pic of this.thumbs.values()) URL.revokeObjectURL(pic.url);
    this.thumbs.clear();
    this.asked.clear();
    for (const pic of this.larges.values()) URL.revokeObjectURL(pic.url);
    this.larges.clear();
    this.largeAsked.clear();
    if (this.product) URL.revokeObjectURL(this.product.url);
    this.product = null;
  }
}

/**
 * Saves a "file" message's bytes through a temporary link (a download the person asked for).
 * @param {{name: string, mime: string}} msg
 * @param {Bytes} data
 */
export function saveFile(msg, data) {
  const url = URL.createObjectURL(new Blob([data], { type: msg.mime }));
  const link = document.createElement("a");
  link.href = url;
  link.download = msg.name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
