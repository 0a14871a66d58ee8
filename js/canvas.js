// The results canvas: draws cards, runs, the selection bar and the large view from the model's
// traits, and sends intents back. It never fetches anything itself: pictures arrive as binary
// buffers in "thumbs" and "preview" messages, which it asks for with "want".

import { CardCache } from "./canvas/cards.js";
import { canCompare } from "./canvas/compare.js";
import { createFold } from "./canvas/fold.js";
import { scrollToRun, watchGestures } from "./canvas/follow.js";
import { createMarks, helpPanel } from "./canvas/marks.js";
import { keepMenus } from "./canvas/menu.js";
import { createLargeView } from "./canvas/overlay.js";
import { PictureStore, saveFile } from "./canvas/pictures.js";
import { drawRuns, FollowNewRun, runOrder } from "./canvas/runs.js";
import { drawSelection, ranged, toggled } from "./canvas/selection.js";
import { drawSizes } from "./canvas/sizes.js";
import { drawMessage, drawPager, drawTools, keepSearchFocus } from "./canvas/toolbar.js";
import { startTicker, watchWindowSize } from "./canvas/upkeep.js";
import { h, listen, traits } from "./dom.js";
import { DownloadRequests, isToBrowser, KIND, send } from "./protocol.js";

/** @typedef {import("./types.js").Card} Card */

/** @type {import("@anywidget/types").Render<import("./types.js").CanvasModel>} */
function render({ model, el }) {
  const t = traits(model);
  const store = new PictureStore();
  /** @type {Card[]} */
  let cards = [];
  /** @type {Map<string, Card>} */
  let byId = new Map();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let wantTimer;
  const downloads = new DownloadRequests();
  /** @param {object} msg @param {ArrayBuffer[]} [buffers] */
  const sendMsg = (msg, buffers) =>
    buffers ? model.send(downloads.stamp(msg), undefined, buffers) : model.send(downloads.stamp(msg));

  // A new run stays in view: followed once after a click, unless the person scrolls meanwhile.
  const follower = new FollowNewRun(t.get("runs", []));
  const stopWatching = watchGestures(follower);

  el.classList.add("qw-canvas");
  el.dataset.mode = t.get("mode", "library");
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const head = h("div", "qw-head");
  const titleNode = h("div", "qw-title");
  const tools = h("div", "qw-tools");
  const sizes = h("div", "qw-sizes");
  const fold = createFold(model, t, el);
  head.append(titleNode, fold.node, tools, sizes);
  const messageNode = h("div", "qw-message");
  messageNode.setAttribute("role", "status");
  const selectionBar = h("div", "qw-selection");
  selectionBar.setAttribute("role", "group");
  selectionBar.setAttribute("aria-label", "Selection");
  const body = h("div", "qw-body");
  const pager = h("div", "qw-pager");
  el.append(head, messageNode, selectionBar, body, pager);

  const review = createMarks(t, sendMsg, () => {
    drawBody();
    large.draw(); // the mark shows in the large view (and on a compared pane) at once too
  });
  /** @type {string[]} ids of the cards drawn now, in display order */
  let drawnOrder = [];
  let lastTicked = "";
  const large = createLargeView({
    el,
    t,
    store,
    card: (id) => byId.get(id),
    order: () => (t.get("mode", "library") === "runs" ? runOrder(t.get("runs", [])) : cards.map((c) => c.id)),
    send: sendMsg,
    askForPictures,
    review,
  });
  const cache = new CardCache({
    picture: (id) => store.thumb(id),
    thumbPx: () => t.get("thumb_px", 176),
    open: (id) => large.open(id),
    select: (id, on, range) => {
      const selected = t.get("selected_ids", []);
      const from = range && lastTicked ? lastTicked : id;
      t.set("selected_ids", ranged(selected, drawnOrder, from, id, on));
      lastTicked = id;
    },
    mark: (id) => review.get(id),
    key: onCardKey,
  });

  /** A key on a focused card: marks (engine.review's key map), selection, moving, help. */
  function onCardKey(/** @type {KeyboardEvent} */ event, /** @type {string} */ id) {
    const selectedIds = t.get("selected_ids", []);
    const intent = review.handleReviewKey(event, { context: "grid", focusedId: id, selectedIds });
    if (!intent) return;
    const name = intent.name;
    if (name === "open") large.open(id);
    else if (name === "toggle_select") {
      t.set("selected_ids", toggled(selectedIds, id, !selectedIds.includes(id)));
      lastTicked = id; // Shift+click then ticks the range from here
    } else if (name === "clear_selection") clearSelection(selectedIds.length);
    else if (name === "help") showHelp(id);
    else if (name === "compare") compareSelected();
    else if (name === "next" || name === "prev") focusStep(id, name === "next" ? 1 : -1);
    if (intent.advance) focusStep(id, 1);
  }

  /** @param {number} count Esc clears at once up to the limit Python sets, and asks above it */
  function clearSelection(count) {
    const limit = t.get("confirm_clear_above", 10);
    if (count > limit && !window.confirm(`Clear the selection of ${count} pictures?`)) return;
    t.set("selected_ids", []);
  }

  /** @param {string} id @param {number} delta */
  function focusStep(id, delta) {
    const at = drawnOrder.indexOf(id);
    const next = drawnOrder[at + delta];
    if (at >= 0 && next) cache.get(next)?.focus();
  }

  /** @param {string} id the card to go back to */
  function showHelp(id) {
    el.querySelector(".qw-keys-help")?.remove();
    const panel = helpPanel(t.get("key_help", []), () => {
      panel.remove();
      cache.get(id)?.focus();
    });
    el.insertBefore(panel, body);
    panel.focus();
  }

  function syncCards() {
    cards = t.get("cards", []).map((card) => ({ ...card }));
    byId = new Map(cards.map((card) => [card.id, card]));
    store.keepOnly(new Set(byId.keys()));
    drawBody();
  }

  function drawBody() {
    const active = document.activeElement;
    const inside = active instanceof HTMLElement && el.contains(active) ? active : null;
    const focusedId = inside?.classList.contains("qw-card") ? inside.dataset.id : null;
    // A run's control (the retry's question) is drawn anew: runs.js puts the focus back on it.
    const refocus = inside?.dataset.refocus || "";
    body.replaceChildren();
    const selected = new Set(t.get("selected_ids", []));
    /** @param {string[]} ids */
    const grid = (ids) => cache.grid(ids, byId, selected);
    /** @type {Set<string>} */
    let live;
    if (t.get("mode", "library") === "runs") {
      const ctx = { grid, send: sendMsg, canUsePrompt: t.get("can_use_prompt", false), refocus };
      live = drawRuns(body, t.get("runs", []), t.get("folded_runs", {}), ctx);
      scrollToRun(body, follower.follow(t.get("runs", [])));
    } else {
      const ids = cards.map((card) => card.id);
      body.append(grid(ids));
      live = new Set(ids);
    }
    cache.keepOnly(live);
    drawnOrder = [...body.querySelectorAll(".qw-card")].map(
      (n) => /** @type {HTMLElement} */ (n).dataset.id || "",
    );
    if (focusedId) cache.get(focusedId)?.focus({ preventScroll: true });
    const chosen = t.get("selected_ids", []).filter((id) => byId.has(id));
    const selection = {
      shown: cards.filter((card) => card.state !== "failed").map((card) => card.id),
      drawn: new Set(drawnOrder),
      selected: () => t.get("selected_ids", []),
      setSelected: (/** @type {string[]} */ ids) => t.set("selected_ids", ids),
      send: sendMsg,
      canCompare: canCompare(chosen.length),
      compare: () => compareSelected(),
    };
    keepMenus(selectionBar, () => drawSelection(selectionBar, selection));
    askForPictures();
  }

  function askForPictures() {
    clearTimeout(wantTimer);
    wantTimer = setTimeout(() => {
      const missing = store.missing(cards, t.get("preview", {}), large.ahead());
      if (missing) sendMsg(send.want(missing.ids, missing.preview, missing.previews));
    }, 0);
  }

  /**
   * @param {unknown} msg
   * @param {import("./protocol.js").Bytes[]} buffers
   */
  function onMessage(msg, buffers) {
    if (!isToBrowser(msg)) return;
    if (msg.kind === KIND.THUMBS || msg.kind === KIND.PATCH) {
      if (msg.kind === KIND.PATCH) {
        for (const change of msg.cards || []) {
          const card = byId.get(change.id);
          if (card) Object.assign(card, change);
        }
      }
      store.receive(msg, buffers, byId);
      drawBody();
      if (msg.kind === KIND.THUMBS) large.draw();
    } else if (msg.kind === KIND.PREVIEW) {
      store.receiveLarge(msg.id, buffers[0], msg.fmt, msg.w, msg.h);
      if (large.shows(msg.id)) large.draw(); // a prefetched neighbour waits for its turn
    } else if (msg.kind === KIND.PRODUCT) {
      store.receiveProduct(buffers[0], msg.fmt, msg.v);
      large.draw();
    } else if (msg.kind === KIND.FILE) {
      if (downloads.claim(msg)) saveFile(msg, buffers[0]);
    } else if (msg.kind === KIND.MARKED) {
      onMarks();
    }
  }

  const stopTicker = startTicker(el, sendMsg);

  const onTools = () => {
    keepMenus(tools, () => keepSearchFocus(el, () => drawTools(titleNode, tools, t, sendMsg)));
    fold.draw();
  };
  const onMessageLine = () => drawMessage(messageNode, t);
  const onPage = () => drawPager(pager, t);
  const onSize = () => keepMenus(sizes, () => drawSizes(el, sizes, t));
  const onOpen = () => large.draw();
  /** Opens the selection side by side when it is 2-4 pictures of this view. */
  function compareSelected() {
    return large.compare(t.get("selected_ids", []).filter((id) => byId.has(id)));
  }
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if ((event.key !== "c" && event.key !== "C") || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    if (compareSelected()) event.preventDefault();
  };
  el.addEventListener("keydown", onKey);
  const windowSize = watchWindowSize(model, t);
  const onMarks = () => {
    review.confirmed();
    drawBody();
    large.draw();
  };
  const unlisten = listen(model, [
    ["change:cards", syncCards],
    ["change:marks", onMarks],
    ["change:runs", drawBody],
    ["change:folded_runs", drawBody],
    ["change:selected_ids", drawBody],
    ["change:can_use_prompt", onOpen],
    ["change:message", onMessageLine],
    ["change:message_kind", onMessageLine],
    ["change:open_id", onOpen],
    ["change:preview", onOpen],
    ["change:product", onOpen],
    ["change:page", onPage],
    ["change:thumb_size", onSize],
    ["change:page_count", onPage],
    ["msg:custom", onMessage],
    ...[
      "title",
      "status_filter",
      "state_filter",
      "vote_filter",
      "mark_filter",
      "min_stars",
      "rating_first",
      "marks",
      "search",
      "sort",
      "count_text",
      "mode",
      "collapsed",
    ].map((name) => /** @type {[string, () => void]} */ ([`change:${name}`, onTools])),
  ]);

  onTools();
  onMessageLine();
  onPage();
  onSize();
  syncCards();
  windowSize.sizeUp();
  large.draw();
  sendMsg(send.hello([]));

  return () => {
    stopWatching();
    stopTicker();
    windowSize.dispose();
    el.removeEventListener("keydown", onKey);
    clearTimeout(wantTimer);
    unlisten();
    store.dispose();
    large.dispose();
  };
}

export default { render };
