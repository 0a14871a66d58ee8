// The results canvas: draws cards, runs, the selection bar and the large view from the model's
// traits, and sends intents back. It never fetches anything itself: pictures arrive as binary
// buffers in "thumbs" and "preview" messages, which it asks for with "want".

import { CardCache } from "./canvas/cards.js";
import { createLargeView } from "./canvas/overlay.js";
import { PictureStore, saveFile } from "./canvas/pictures.js";
import { drawRuns, FollowNewRun, runOrder } from "./canvas/runs.js";
import { drawSelection, toggled } from "./canvas/selection.js";
import { drawMessage, drawPager, drawTools, keepSearchFocus } from "./canvas/toolbar.js";
import { h, listen, traits } from "./dom.js";
import { elapsed } from "./format.js";
import { DownloadRequests, isToBrowser, KIND, send } from "./protocol.js";

/** @typedef {import("./types.js").Card} Card */

/** Every how many ticks of a second a view tells the kernel it is still there. */
const ALIVE_EVERY = 20;

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
  /** @param {object} msg */
  const sendMsg = (msg) => model.send(downloads.stamp(msg));

  // A new run stays in view: followed once after a click, unless the person scrolls meanwhile.
  const follower = new FollowNewRun(t.get("runs", []));
  /** @param {Event} event */
  const onClickAnywhere = (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target?.closest(".qw-form button, .qw-canvas button")) follower.clicked();
  };
  /** @param {Event} event */
  const onScrollGesture = (event) => {
    const keys = ["PageUp", "PageDown", "Home", "End", "ArrowUp", "ArrowDown", " "];
    if (event instanceof KeyboardEvent && !keys.includes(event.key)) return;
    if (
      event instanceof KeyboardEvent &&
      event.target instanceof HTMLElement &&
      event.target.closest("input, textarea")
    )
      return;
    follower.scrolled();
  };
  const gestures = ["wheel", "touchmove", "keydown"];
  document.addEventListener("click", onClickAnywhere, true);
  for (const name of gestures)
    document.addEventListener(name, onScrollGesture, { capture: true, passive: true });

  el.classList.add("qw-canvas");
  el.dataset.mode = t.get("mode", "library");
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const head = h("div", "qw-head");
  const titleNode = h("div", "qw-title");
  const tools = h("div", "qw-tools");
  // A studio's library folds to its title line: its pictures are already in Runs (gallery.py `collapsed`).
  const fold = h("button", "qw-btn qw-lib-fold");
  fold.type = "button";
  fold.addEventListener("click", () => t.set("collapsed", !model.get("collapsed")));
  head.append(titleNode, fold, tools);
  const messageNode = h("div", "qw-message");
  messageNode.setAttribute("role", "status");
  const selectionBar = h("div", "qw-selection");
  const body = h("div", "qw-body");
  const pager = h("div", "qw-pager");
  el.append(head, messageNode, selectionBar, body, pager);

  const large = createLargeView({
    el,
    t,
    store,
    card: (id) => byId.get(id),
    order: () => (t.get("mode", "library") === "runs" ? runOrder(t.get("runs", [])) : cards.map((c) => c.id)),
    send: sendMsg,
    askForPictures,
  });
  const cache = new CardCache({
    picture: (id) => store.thumb(id),
    thumbPx: () => t.get("thumb_px", 176),
    open: (id) => large.open(id),
    select: (id, on) => t.set("selected_ids", toggled(t.get("selected_ids", []), id, on)),
  });

  function syncCards() {
    cards = t.get("cards", []).map((card) => ({ ...card }));
    byId = new Map(cards.map((card) => [card.id, card]));
    store.keepOnly(new Set(byId.keys()));
    drawBody();
  }

  function drawBody() {
    const active = document.activeElement;
    const focusedId =
      active instanceof HTMLElement && el.contains(active) && active.classList.contains("qw-card")
        ? active.dataset.id
        : null;
    body.replaceChildren();
    const selected = new Set(t.get("selected_ids", []));
    /** @param {string[]} ids */
    const grid = (ids) => cache.grid(ids, byId, selected);
    /** @type {Set<string>} */
    let live;
    if (t.get("mode", "library") === "runs") {
      const ctx = { grid, send: sendMsg, canUsePrompt: t.get("can_use_prompt", false) };
      live = drawRuns(body, t.get("runs", []), t.get("folded_runs", {}), ctx);
      const key = follower.follow(t.get("runs", []));
      const sections = key ? [...body.querySelectorAll("section.qw-run")] : [];
      const section = /** @type {HTMLElement | undefined} */ (
        sections.find((s) => s instanceof HTMLElement && s.dataset.key === key)
      );
      const box = section?.getBoundingClientRect();
      if (section && box && box.bottom > window.innerHeight) {
        section.scrollIntoView({ block: box.height > window.innerHeight ? "start" : "nearest" });
      }
    } else {
      const ids = cards.map((card) => card.id);
      body.append(grid(ids));
      live = new Set(ids);
    }
    cache.keepOnly(live);
    if (focusedId) cache.get(focusedId)?.focus({ preventScroll: true });
    drawSelection(selectionBar, {
      shown: cards.filter((card) => card.state !== "failed").map((card) => card.id),
      selected: () => t.get("selected_ids", []),
      setSelected: (ids) => t.set("selected_ids", ids),
      send: sendMsg,
    });
    askForPictures();
  }

  function askForPictures() {
    clearTimeout(wantTimer);
    wantTimer = setTimeout(() => {
      const missing = store.missing(cards, t.get("preview", {}));
      if (missing) sendMsg(send.want(missing.ids, missing.preview));
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
      store.receiveLarge(msg.id, buffers[0], msg.fmt);
      large.draw();
    } else if (msg.kind === KIND.FILE) {
      if (downloads.claim(msg)) saveFile(msg, buffers[0]);
    }
  }

  // Elapsed time on live placeholders, and "still here" for the kernel (a closed tab stops this).
  let beat = 0;
  const ticker = setInterval(() => {
    for (const node of el.querySelectorAll(".qw-elapsed")) {
      node.textContent = elapsed(Number(/** @type {HTMLElement} */ (node).dataset.since));
    }
    beat += 1;
    if (beat % ALIVE_EVERY === 0 && el.isConnected) sendMsg(send.alive());
  }, 1000);

  const onTools = () => {
    keepSearchFocus(el, () => drawTools(titleNode, tools, t, sendMsg));
    drawFold();
  };
  function drawFold() {
    const collapsed = model.get("collapsed");
    fold.hidden = collapsed === undefined || collapsed === null;
    el.classList.toggle("qw-lib-collapsed", collapsed === true);
    fold.textContent = collapsed ? `▸ Show · ${t.get("count_text", "")}` : "▾ Fold";
    fold.setAttribute("aria-expanded", String(!collapsed));
  }
  const onMessageLine = () => drawMessage(messageNode, t);
  const onPage = () => drawPager(pager, t);
  const onOpen = () => large.draw();
  const unlisten = listen(model, [
    ["change:cards", syncCards],
    ["change:runs", drawBody],
    ["change:folded_runs", drawBody],
    ["change:selected_ids", drawBody],
    ["change:can_use_prompt", onOpen],
    ["change:message", onMessageLine],
    ["change:message_kind", onMessageLine],
    ["change:open_id", onOpen],
    ["change:preview", onOpen],
    ["change:page", onPage],
    ["change:page_count", onPage],
    ["msg:custom", onMessage],
    ...["title", "status_filter", "state_filter", "search", "sort", "count_text", "mode", "collapsed"].map(
      (name) => /** @type {[string, () => void]} */ ([`change:${name}`, onTools]),
    ),
  ]);

  onTools();
  onMessageLine();
  onPage();
  syncCards();
  large.draw();
  sendMsg(send.hello([]));

  return () => {
    document.removeEventListener("click", onClickAnywhere, true);
    for (const name of gestures) document.removeEventListener(name, onScrollGesture, true);
    clearInterval(ticker);
    clearTimeout(wantTimer);
    unlisten();
    store.dispose();
    large.dispose();
  };
}

export default { render };
