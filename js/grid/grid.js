// The cards of one view, by scenery id: the list Python sends (`cards`, patched in place by "patch"
// messages), each card's figure made once and painted part by part, and the grids that show them (the
// library's one, each run's, each cell's) filled by id. A change repaints only the cards it concerns:
// a patch or a picture its own card, a tick the cards ticked or unticked, a mark the cards marked.

import { h } from "../shared/dom.js";
import { placeChildren } from "../shared/keyed.js";
import { changedIds } from "../shared/marks.js";
import { CardView } from "./cards.js";

/** @typedef {import("../shared/types.js").Card} Card */
/** @typedef {import("../shared/protocol.js").Bytes} Bytes */

/**
 * What the cards need from their view.
 * @typedef {object} GridContext
 * @property {import("./toolbar.js").CanvasTraits} t
 * @property {import("../shared/store.js").UiStore} store
 * @property {import("./pictures.js").PictureStore} pictures
 * @property {ReturnType<typeof import("../shared/marks.js").createMarks>} marks
 * @property {(id: string) => void} open
 * @property {(id: string, on: boolean, range: boolean) => void} select `range`: Shift was held
 * @property {(event: KeyboardEvent, id: string) => void} key a key on a focused card
 */

/**
 * The ids of the cards drawn under `root`, in display order.
 * @param {ParentNode} root
 */
export const drawnOrder = (root) =>
  [...root.querySelectorAll(".qw-card")].map((node) => /** @type {HTMLElement} */ (node).dataset.id || "");

/** @param {GridContext} ctx */
export function createGrid(ctx) {
  const { t, store, pictures, marks } = ctx;
  /** @type {Card[]} */
  let cards = [];
  /** @type {Map<string, Card>} */
  let byId = new Map();
  let selected = new Set(t.get("selected_ids", []));
  let marksShown = t.get("marks", {});
  /** @type {Map<string, CardView>} */
  const views = new Map();
  /** @type {Map<Element, string[]>} each grid drawn and the ids it shows */
  const boxes = new Map();
  /** @type {import("./cards.js").CardContext} */
  const cardContext = {
    picture: (id) => pictures.thumb(id),
    thumbPx: () => t.get("thumb_px", 176),
    open: ctx.open,
    select: ctx.select,
    mark: (id) => marks.get(id),
    key: ctx.key,
  };

  /** @param {string} id @param {Card} card */
  function viewOf(id, card) {
    let view = views.get(id);
    if (!view) {
      view = new CardView(id, cardContext);
      view.paint(card, selected.has(id));
      views.set(id, view);
    }
    return view;
  }

  /** @param {Iterable<string>} ids */
  function repaint(ids) {
    for (const id of ids) {
      const card = byId.get(id);
      if (card) views.get(id)?.paint(card, selected.has(id));
    }
  }

  /** @param {Iterable<string>} ids */
  function repaintMarks(ids) {
    for (const id of ids) views.get(id)?.paintMark(marks.get(id));
  }

  /** @param {Element} box @param {string[]} ids */
  function fill(box, ids) {
    boxes.set(box, ids);
    /** @type {Element[]} */
    const nodes = [];
    for (const id of ids) {
      const card = byId.get(id);
      if (card) nodes.push(viewOf(id, card).node);
    }
    placeChildren(box, nodes);
  }

  const stopPending = store.subscribe("pending", (now, before) => repaintMarks(changedIds(before, now)));

  return {
    /** @param {string} id */
    card: (id) => byId.get(id),
    cards: () => cards,
    /** @param {string} id the card's element, if drawn */
    node: (id) => views.get(id)?.node,

    /** A new `cards` list: known cards are repainted where they changed, every grid gets its cards. */
    setCards() {
      cards = t.get("cards", []).map((card) => ({ ...card }));
      byId = new Map(cards.map((card) => [card.id, card]));
      pictures.keepOnly(new Set(byId.keys()));
      repaint(views.keys());
      for (const [box, ids] of boxes) fill(box, ids); // a card that was not known yet takes its place
    },

    /**
     * A "thumbs" or "patch" message: fields changed in place, pictures taken; their cards repainted.
     * @param {import("../shared/protocol.js").ThumbsMessage | import("../shared/protocol.js").PatchMessage} msg
     * @param {Bytes[]} buffers
     * @returns {string[]} the ids it concerned
     */
    receive(msg, buffers) {
      const changes = msg.kind === "patch" ? msg.cards || [] : [];
      for (const change of changes) {
        const card = byId.get(change.id);
        if (card) Object.assign(card, change);
      }
      pictures.receive(msg, buffers, byId);
      const ids = new Set([...changes.map((c) => c.id), ...(msg.pictures || []).map((p) => p.id)]);
      repaint(ids);
      return [...ids];
    },

    /** The `selected_ids` trait changed: the cards ticked or unticked are repainted. */
    selectionChanged() {
      const now = new Set(t.get("selected_ids", []));
      const changed = [...now, ...selected].filter((id) => now.has(id) !== selected.has(id));
      selected = now;
      repaint(changed);
    },

    /** The `marks` trait changed: the cards whose mark changed are repainted (one already drawn ahead is not). */
    marksChanged() {
      const now = t.get("marks", {});
      const ids = changedIds(marksShown, now);
      marksShown = now;
      repaintMarks(ids);
    },

    /** @param {string[]} ids a new grid of these cards */
    grid(ids) {
      const box = h("div", "qw-grid");
      fill(box, ids);
      return box;
    },
    fill,

    /** @param {Set<string>} live forget the cards (and grids) no longer drawn */
    keepOnly(live) {
      for (const id of [...views.keys()]) if (!live.has(id)) views.delete(id);
      for (const box of [...boxes.keys()]) if (!box.isConnected) boxes.delete(box);
    },

    dispose: stopPending,
  };
}
