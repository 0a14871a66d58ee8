// The results canvas: cards (a library's grid, or runs and comparisons), the selection bar, the toolbar
// and the large view, drawn from the model's traits; intents go back as messages. It never fetches
// anything itself: pictures arrive as binary buffers in "thumbs" and "preview" messages, which it asks
// for with "want". This file wires the parts: each trait or message goes to the part that shows it.

import { FollowNewRun, scrollToRun, watchGestures } from "./grid/follow.js";
import { createGrid, drawnOrder } from "./grid/grid.js";
import { createHead } from "./grid/head.js";
import { createCardKeys } from "./grid/keys.js";
import { PictureStore, saveFile } from "./grid/pictures.js";
import { createSelectionBar } from "./grid/selection.js";
import { startTicker, watchWindowSize } from "./grid/upkeep.js";
import { canCompare } from "./large/compare.js";
import { createLargeView } from "./large/overlay.js";
import { createRunsView, runOrder } from "./runs/runs.js";
import { h, listen, traits } from "./shared/dom.js";
import { keepFocus } from "./shared/keyed.js";
import { createMarks } from "./shared/marks.js";
import { DownloadRequests, isToBrowser, KIND, send } from "./shared/protocol.js";
import { createUiStore } from "./shared/store.js";

/** @type {import("@anywidget/types").Render<import("./shared/types.js").CanvasModel>} */
function render({ model, el }) {
  const t = traits(model);
  const store = createUiStore();
  const pictures = new PictureStore();
  const downloads = new DownloadRequests();
  /** @param {object} msg @param {ArrayBuffer[]} [buffers] */
  const sendMsg = (msg, buffers) =>
    buffers ? model.send(downloads.stamp(msg), undefined, buffers) : model.send(downloads.stamp(msg));
  const marks = createMarks(store, t, sendMsg);
  // A new run stays in view: followed once after a click, unless the person scrolls meanwhile.
  const follower = new FollowNewRun(t.get("runs", []));
  const stopWatching = watchGestures(follower);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let wantTimer;

  el.classList.add("qw-canvas");
  el.dataset.mode = t.get("mode", "library");
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const { head, message, pager, dispose: stopHead } = createHead({ model, t, el, send: sendMsg });
  const [selectionNode, body] = ["qw-selection", "qw-body"].map((c) => h("div", c));
  el.append(head, message, selectionNode, body, pager);

  const isRuns = () => t.get("mode", "library") === "runs";
  const large = createLargeView({
    el,
    t,
    store,
    pictures,
    marks,
    card: (id) => grid.card(id),
    order: () => (isRuns() ? runOrder(t.get("runs", [])) : grid.cards().map((c) => c.id)),
    send: sendMsg,
    askForPictures,
  });
  /** Opens the selection side by side when it is 2-4 pictures of this view. */
  const compareSelected = () => large.compare(t.get("selected_ids", []).filter((id) => grid.card(id)));
  const keys = createCardKeys({
    el,
    body,
    t,
    store,
    marks,
    node: (id) => grid.node(id),
    open: (id) => large.open(id),
    compare: compareSelected,
  });
  const grid = createGrid({
    t,
    store,
    pictures,
    marks,
    open: (id) => large.open(id),
    select: keys.tick,
    key: keys.key,
  });
  const runsView = createRunsView(body, { grid: (ids) => grid.grid(ids), send: sendMsg });
  const library = h("div", "qw-grid");
  const selection = createSelectionBar(selectionNode, {
    selected: () => t.get("selected_ids", []),
    setSelected: (ids) => t.set("selected_ids", ids),
    shown: () => grid.cards().flatMap((card) => (card.state === "failed" ? [] : [card.id])),
    drawn: () => new Set(drawnOrder(body)),
    canCompare: () => canCompare(t.get("selected_ids", []).filter((id) => grid.card(id)).length),
    compare: compareSelected,
    send: sendMsg,
  });

  /** Places the cards: the library's grid, or the runs; only what changed moves. */
  function placeCards() {
    let live;
    if (isRuns()) {
      // A run whose cards are drawn again (a comparison's new progress) moves them into new cells.
      const runs = t.get("runs", []);
      live = keepFocus(body, () =>
        runsView.draw(runs, t.get("folded_runs", {}), t.get("can_use_prompt", false)),
      );
      scrollToRun(body, follower.follow(runs));
    } else {
      if (library.parentElement !== body) body.replaceChildren(library);
      const ids = grid.cards().map((card) => card.id);
      grid.fill(library, ids);
      live = new Set(ids);
    }
    grid.keepOnly(live);
    selection.draw();
    askForPictures();
  }

  function askForPictures() {
    clearTimeout(wantTimer);
    wantTimer = setTimeout(() => {
      const missing = pictures.missing(grid.cards(), t.get("preview", {}), large.ahead());
      if (missing) sendMsg(send.want(missing.ids, missing.preview, missing.previews));
    }, 0);
  }

  /** @param {unknown} msg @param {import("./shared/protocol.js").Bytes[]} buffers */
  function onMessage(msg, buffers) {
    if (!isToBrowser(msg)) return;
    if (msg.kind === KIND.THUMBS || msg.kind === KIND.PATCH) {
      const ids = grid.receive(msg, buffers);
      large.thumbsArrived(ids);
      askForPictures();
    } else if (msg.kind === KIND.PREVIEW) {
      pictures.receiveLarge(msg.id, buffers[0], msg.fmt, msg.w, msg.h);
      if (large.shows(msg.id)) large.draw(); // a prefetched neighbour waits for its turn
    } else if (msg.kind === KIND.PRODUCT) {
      pictures.receiveProduct(buffers[0], msg.fmt, msg.v);
      large.draw();
    } else if (msg.kind === KIND.FILE) {
      if (downloads.claim(msg)) saveFile(msg, buffers[0]);
    } else if (msg.kind === KIND.MARKED) {
      marks.settle();
    }
  }

  const stopTicker = startTicker(el, sendMsg);
  const windowSize = watchWindowSize(model, t);
  const onCards = () => {
    grid.setCards();
    placeCards();
  };
  const onCanUsePrompt = () => {
    if (isRuns()) placeCards();
    large.draw();
  };
  const onSelected = () => {
    grid.selectionChanged();
    selection.draw();
  };
  const onMarks = () => {
    grid.marksChanged();
    large.showMarks();
  };
  const onMode = () => {
    el.dataset.mode = t.get("mode", "library");
    placeCards();
  };
  const unlisten = listen(model, [
    ["change:cards", onCards],
    ["change:runs", placeCards],
    ["change:folded_runs", placeCards],
    ["change:can_use_prompt", onCanUsePrompt],
    ["change:selected_ids", onSelected],
    ["change:marks", onMarks],
    ["change:mode", onMode],
    ["change:open_id", () => large.draw()],
    ["change:preview", () => large.draw()],
    ["change:product", () => large.draw()],
    ["msg:custom", onMessage],
  ]);

  grid.setCards();
  placeCards();
  windowSize.sizeUp();
  large.draw();
  sendMsg(send.hello([]));

  return () => {
    stopWatching();
    stopTicker();
    windowSize.dispose();
    clearTimeout(wantTimer);
    unlisten();
    stopHead();
    keys.dispose();
    grid.dispose();
    store.dispose();
    pictures.dispose();
    large.dispose();
  };
}

export default { render };
