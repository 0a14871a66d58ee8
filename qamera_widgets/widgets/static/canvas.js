// Built from js/ by `npm run build` (esbuild): edit the sources there, not this file.

// js/dom.js
function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== void 0 && text !== null) node.textContent = String(text);
  return node;
}
function button(label, className, onClick, title) {
  const node = h("button", `qw-btn ${className || ""}`.trim(), label);
  node.type = "button";
  if (title) node.title = title;
  node.addEventListener("click", onClick);
  return node;
}
function appendMarked(parent, parts) {
  for (const [piece, varies] of parts) {
    parent.append(varies ? h("mark", "qw-varies", piece) : document.createTextNode(piece));
  }
}
function traits(model) {
  return {
    /**
     * @template {keyof T & string} K
     * @param {K} name
     * @param {NonNullable<T[K]>} fallback
     * @returns {NonNullable<T[K]>}
     */
    get(name, fallback) {
      const value = model.get(name);
      return value === void 0 || value === null ? fallback : value;
    },
    /**
     * @template {keyof T & string} K
     * @param {K} name
     * @param {T[K]} value
     */
    set(name, value) {
      model.set(name, value);
      model.save_changes();
    }
  };
}
function listen(model, listeners) {
  for (const [event, handler] of listeners) model.on(event, handler);
  return () => {
    for (const [event, handler] of listeners) model.off(event, handler);
  };
}

// js/format.js
var VOTES = (
  /** @type {const} */
  {
    approved: ["✓", "Approved"],
    rejected: ["✕", "Rejected"],
    none: ["○", "Not reviewed"]
  }
);
function voteOf(vote) {
  return VOTES[
    /** @type {keyof typeof VOTES} */
    vote
  ] || VOTES.none;
}
function elapsed(sinceMs, nowMs = Date.now()) {
  const seconds = Math.max(0, Math.floor((nowMs - sinceMs) / 1e3));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
}
function progressBar(run) {
  const total = Math.max(1, run.total || 1);
  const done = run.done || 0;
  const failed = run.failed || 0;
  return { total, now: done + failed, donePct: 100 * done / total, failedPct: 100 * failed / total };
}
function captionOf(card) {
  return card.prompt || card.name || "(no name)";
}
var LIVE_STATES = /* @__PURE__ */ new Set(["processing", "queued", "waiting"]);
var TIMED_STATES = /* @__PURE__ */ new Set(["processing", "queued"]);
function stepId(ids, current, delta) {
  const index = ids.indexOf(current);
  if (index < 0 || !ids.length) return null;
  return ids[(index + delta + ids.length) % ids.length];
}

// js/canvas/cards.js
function fillCard(node, card, selected, ctx) {
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
  const pick = h("input", "qw-pick");
  pick.type = "checkbox";
  pick.checked = selected;
  pick.setAttribute("aria-label", `Select ${caption}`);
  pick.addEventListener("click", (event) => event.stopPropagation());
  pick.addEventListener("change", () => ctx.select(card.id, pick.checked));
  tile.append(pick);
  const figcaption = h("figcaption", "qw-caption");
  const text = h("div", "qw-caption-text", caption);
  text.title = caption;
  const meta = h("div", "qw-meta");
  const [icon, word] = voteOf(card.vote);
  const vote = h("span", `qw-vote qw-vote-${card.vote}`);
  vote.title = `Review: ${word}`;
  vote.append(h("span", "qw-vote-icon", icon), document.createTextNode(` ${word}`));
  meta.append(vote);
  if (card.created) meta.append(h("span", "qw-created", card.created));
  figcaption.append(text, meta);
  node.replaceChildren(tile, figcaption);
}
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
function drawCard(card, selected, ctx) {
  const node = h("figure");
  const id = card.id;
  fillCard(node, card, selected, ctx);
  node.addEventListener("click", () => ctx.open(id));
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      ctx.open(id);
    }
  });
  return node;
}
var CardCache = class {
  /** @param {CardContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.drawn = /* @__PURE__ */ new Map();
  }
  /**
   * The element of `card`, up to date.
   * @param {Card} card
   * @param {boolean} selected
   */
  node(card, selected) {
    const key = JSON.stringify([card, selected, this.ctx.picture(card.id)?.v || 0]);
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
};

// js/protocol.js
var KIND = Object.freeze({
  // canvas, browser -> Python
  HELLO: "hello",
  WANT: "want",
  ALIVE: "alive",
  REFRESH: "refresh",
  DOWNLOAD: "download",
  USE_PROMPT: "use_prompt",
  TOGGLE_RUN: "toggle_run",
  RUN_AGAIN: "run_again",
  USE_RUN_PROMPT: "use_run_prompt",
  MORE_RUNS: "more_runs",
  // canvas, Python -> browser
  THUMBS: "thumbs",
  PATCH: "patch",
  PREVIEW: "preview",
  FILE: "file",
  // form, browser -> Python
  GENERATE: "generate",
  CONFIRM: "confirm",
  RETRY: "retry",
  HISTORY: "history"
});
function picturesOf(msg, buffers) {
  const refs = Array.isArray(msg.pictures) ? msg.pictures : [];
  const out = [];
  refs.forEach((ref, index) => {
    const data = buffers[index];
    if (ref && typeof ref.id === "string" && typeof ref.v === "number" && data) out.push({ ref, data });
  });
  return out;
}
function isToBrowser(msg) {
  if (!msg || typeof msg !== "object") return false;
  const kind = (
    /** @type {{kind?: unknown}} */
    msg.kind
  );
  return kind === KIND.THUMBS || kind === KIND.PATCH || kind === KIND.PREVIEW || kind === KIND.FILE;
}
var send = {
  /** @param {string[]} ids */
  hello: (ids = []) => ({ kind: KIND.HELLO, ids }),
  /** @param {string[]} ids @param {string | null} preview */
  want: (ids, preview) => ({ kind: KIND.WANT, ids, preview }),
  alive: () => ({ kind: KIND.ALIVE }),
  refresh: () => ({ kind: KIND.REFRESH }),
  /** @param {"sheet" | "zip"} what @param {string[]} ids */
  download: (what, ids) => ({ kind: KIND.DOWNLOAD, what, ids }),
  /** @param {string} id */
  usePrompt: (id) => ({ kind: KIND.USE_PROMPT, id }),
  /** @param {string} key */
  toggleRun: (key) => ({ kind: KIND.TOGGLE_RUN, key }),
  /** @param {string} key */
  runAgain: (key) => ({ kind: KIND.RUN_AGAIN, key }),
  /** @param {string} key */
  useRunPrompt: (key) => ({ kind: KIND.USE_RUN_PROMPT, key }),
  moreRuns: () => ({ kind: KIND.MORE_RUNS }),
  /** @param {string} prompt @param {number} count */
  generate: (prompt, count) => ({ kind: KIND.GENERATE, prompt, count }),
  /** @param {boolean} yes */
  confirm: (yes) => ({ kind: KIND.CONFIRM, yes }),
  retry: () => ({ kind: KIND.RETRY }),
  /** @param {number} index */
  history: (index) => ({ kind: KIND.HISTORY, index })
};

// js/canvas/overlay.js
var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex="0"]';
function trapTab(container, event) {
  if (event.key !== "Tab") return false;
  const items = (
    /** @type {HTMLElement[]} */
    [...container.querySelectorAll(FOCUSABLE)]
  );
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
var owner = null;
function createLargeView(ctx) {
  const { el, t, store } = ctx;
  const self = { connected: () => el.isConnected };
  const overlay = h("div", "qw-overlay");
  overlay.setAttribute("data-lm-suppress-shortcuts", "true");
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-modal", "true");
  overlay.tabIndex = -1;
  overlay.hidden = true;
  let lastFocus = null;
  let lastOpened = "";
  const close = () => t.set("open_id", "");
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
          const node = (
            /** @type {HTMLElement | null} */
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
    if (!overlay.isConnected) document.body.appendChild(overlay);
    const caption = p.prompt || p.name || captionOf(card || {});
    const panel = h("div", "qw-large");
    panel.append(stage(id, p, card, caption), side(id, p, caption));
    overlay.append(panel);
    overlay.setAttribute("aria-label", `Large view: ${caption}`);
    if (!overlay.contains(document.activeElement)) overlay.focus();
    ctx.askForPictures();
  }
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
    const note = p.image === "failed" ? "The full picture could not be loaded." : p.image === "none" ? p.label || card?.label || "No picture yet" : "Loading the full picture…";
    node.append(h("div", "qw-stage-note", note));
    return node;
  }
  function side(id, p, caption) {
    const node = h("div", "qw-large-side");
    node.append(h("h3", "qw-large-prompt", caption));
    if (p.prompt && p.name && p.name !== p.prompt) node.append(h("div", "qw-large-name", `Name: ${p.name}`));
    const facts = h("dl", "qw-facts");
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
      button("Close ✕", "qw-large-close", close, "Close (Esc)")
    );
    node.append(nav, h("div", "qw-hint", "← → move · Esc closes"));
    return node;
  }
  overlay.addEventListener("keydown", (event) => {
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
    }
  };
}

// js/canvas/pictures.js
function blobUrl(buffer, fmt) {
  return URL.createObjectURL(new Blob([buffer], { type: `image/${fmt || "jpeg"}` }));
}
var PictureStore = class {
  constructor() {
    this.thumbs = /* @__PURE__ */ new Map();
    this.asked = /* @__PURE__ */ new Map();
    this.large = null;
    this.largeAsked = "";
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
   * What to ask Python for: the cards' pictures not held nor asked for yet, and the large picture
   * when the preview says it is ready. Marks them asked; null when nothing is missing.
   * @param {Card[]} cards
   * @param {Preview} preview
   */
  missing(cards, preview) {
    const ids = [];
    for (const card of cards) {
      if (!card.thumb) continue;
      const have = this.thumbs.get(card.id);
      if (have && have.v === card.thumb || this.asked.get(card.id) === card.thumb) continue;
      this.asked.set(card.id, card.thumb);
      ids.push(card.id);
    }
    let largeId = null;
    const wanted = preview && preview.image === "ready" ? preview.id || "" : "";
    if (wanted && (!this.large || this.large.id !== wanted) && this.largeAsked !== wanted) {
      largeId = wanted;
      this.largeAsked = wanted;
    }
    return ids.length || largeId ? { ids, preview: largeId } : null;
  }
  /**
   * Takes the pictures of a "thumbs" or "patch" message; an older or equal version is ignored.
   * A patch's picture also raises its card's `thumb` (the field rides along with the picture).
   * @param {import("../protocol.js").ThumbsMessage | import("../protocol.js").PatchMessage} msg
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
   * @param {string} id
   * @param {Bytes} data
   * @param {string} [fmt]
   */
  receiveLarge(id, data, fmt) {
    if (this.large) URL.revokeObjectURL(this.large.url);
    this.large = { id, url: blobUrl(data, fmt) };
    this.largeAsked = "";
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
    if (this.large) URL.revokeObjectURL(this.large.url);
    this.large = null;
  }
};
function saveFile(msg, data) {
  const url = URL.createObjectURL(new Blob([data], { type: msg.mime }));
  const link = document.createElement("a");
  link.href = url;
  link.download = msg.name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 6e4);
}

// js/canvas/comparison.js
function rowParts(row) {
  return row.parts?.length ? row.parts : [[row.prompt, false]];
}
function compareRow(row, grid) {
  const node = h("div", "qw-compare-row");
  node.dataset.key = row.key;
  const label = h("div", "qw-row-label");
  const text = h("div", "qw-row-prompt");
  appendMarked(text, rowParts(row));
  text.title = row.prompt;
  label.append(text, h("div", "qw-row-progress", `${row.progress} · ${row.credits}`));
  const cards = grid(row.ids || []);
  cards.classList.add("qw-row-grid");
  node.append(label, cards);
  return node;
}

// js/canvas/runs.js
function runHeader(run, ctx) {
  const header = h("div", "qw-run-head");
  const toggle = button(
    run.collapsed ? "▸" : "▾",
    "qw-run-toggle",
    () => ctx.send(send.toggleRun(run.key)),
    run.collapsed ? "Show this run" : "Fold this run"
  );
  toggle.setAttribute("aria-expanded", String(!run.collapsed));
  const prompt = h("div", "qw-run-prompt", run.prompt || "Tracked records");
  prompt.title = run.prompt || "";
  const meta = h("div", "qw-run-meta");
  meta.append(h("span", "", run.meta || ""));
  if (run.credits) meta.append(h("span", "qw-run-credits", run.credits));
  const progress = h("div", "qw-run-progress");
  const bar = h("div", "qw-bar");
  const widths = progressBar(run);
  const done = h("span", "qw-bar-done");
  done.style.width = `${widths.donePct}%`;
  const failed = h("span", "qw-bar-failed");
  failed.style.width = `${widths.failedPct}%`;
  bar.append(done, failed);
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", String(widths.total));
  bar.setAttribute("aria-valuenow", String(widths.now));
  progress.append(bar, h("span", "qw-run-progress-text", run.progress || ""));
  const text = h("div", "qw-run-text");
  text.append(prompt, meta, progress);
  header.append(toggle, text);
  if (run.use_prompt && ctx.canUsePrompt) {
    const actions = h("div", "qw-run-actions");
    actions.append(
      button(
        "Run again",
        "qw-run-again",
        () => ctx.send(send.runAgain(run.key)),
        "Generate this prompt again (asks first, with the cost)"
      ),
      button(
        "Edit",
        "qw-run-reuse",
        () => ctx.send(send.useRunPrompt(run.key)),
        "Put this prompt into the form to change it"
      )
    );
    header.append(actions);
  }
  return header;
}
function drawRuns(body, runs, folded, ctx) {
  const live = /* @__PURE__ */ new Set();
  for (const run of runs) {
    const compare = run.kind === "compare";
    const section = h(
      "section",
      `qw-run${compare ? " qw-compare" : ""}${run.collapsed ? " qw-collapsed" : ""}`
    );
    section.dataset.key = run.key;
    section.append(runHeader(run, ctx));
    if (!run.collapsed && compare) {
      for (const row of run.rows || []) section.append(compareRow(row, ctx.grid));
    } else if (!run.collapsed) {
      section.append(ctx.grid(run.ids || []));
    }
    if (!run.collapsed) for (const id of run.ids || []) live.add(id);
    body.append(section);
  }
  if (folded?.count) {
    const line = h("div", "qw-folded");
    line.append(h("span", "", folded.text || `${folded.count} earlier runs`));
    line.append(button("Show more", "qw-show-more", () => ctx.send(send.moreRuns())));
    body.append(line);
  }
  return live;
}
function runOrder(runs) {
  const ids = [];
  for (const run of runs) if (!run.collapsed) ids.push(...run.ids || []);
  return ids;
}

// js/canvas/selection.js
function withAll(selected, shown) {
  const ids = [...selected];
  for (const id of shown) if (!ids.includes(id)) ids.push(id);
  return ids;
}
function toggled(selected, id, on) {
  const ids = selected.filter((x) => x !== id);
  if (on) ids.push(id);
  return ids;
}
function drawSelection(bar, ctx) {
  const selected = ctx.selected();
  bar.replaceChildren();
  if (!ctx.shown.length && !selected.length) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  const none = selected.length === 0;
  const label = h("span", "qw-selected-count", none ? "Nothing selected" : `${selected.length} selected`);
  const all = button(
    "Select all shown",
    "qw-select-page",
    () => ctx.setSelected(withAll(selected, ctx.shown))
  );
  const clear = button("Clear", "qw-clear", () => ctx.setSelected([]));
  clear.disabled = none;
  const sheet = button(
    "⤓ Contact sheet (PNG)",
    "qw-download-sheet",
    () => ctx.send(send.download("sheet", ctx.selected())),
    "One image of the selected pictures with their prompts"
  );
  sheet.disabled = none;
  const zip = button(
    "⤓ Originals (zip)",
    "qw-download-zip",
    () => ctx.send(send.download("zip", ctx.selected())),
    "The full-size files of the selected pictures"
  );
  zip.disabled = none;
  bar.append(label, all, clear, sheet, zip);
}

// js/canvas/toolbar.js
var SCOPES = [
  ["all", "All"],
  ["approved", "Approved"]
];
var STATES = [
  ["all", "Any status"],
  ["done", "Done"],
  ["in progress", "In progress"],
  ["failed", "Failed"]
];
var SORTS = [
  ["newest", "Newest first"],
  ["oldest", "Oldest first"],
  ["name", "By name"]
];
function select(className, label, choices, current, onChange) {
  const node = h("select", `qw-select ${className}`);
  node.setAttribute("aria-label", label);
  for (const [value, text] of choices) {
    const option = h("option", "", text);
    option.value = value;
    option.selected = current === value;
    node.append(option);
  }
  node.addEventListener("change", () => onChange(node.value));
  return node;
}
function drawTools(titleNode, tools, t, sendMsg) {
  titleNode.textContent = t.get("title", "");
  tools.replaceChildren();
  if (t.get("mode", "library") !== "library") return;
  const scope = h("div", "qw-segmented");
  scope.setAttribute("role", "group");
  scope.setAttribute("aria-label", "Which sceneries");
  const filter = t.get("status_filter", "all");
  for (const [value, label] of SCOPES) {
    const b = button(
      label,
      filter === value ? "qw-on" : "",
      () => t.set(
        "status_filter",
        /** @type {"all" | "approved"} */
        value
      )
    );
    b.setAttribute("aria-pressed", String(filter === value));
    scope.append(b);
  }
  const state = select(
    "qw-state-filter",
    "Generation status",
    STATES,
    t.get("state_filter", "all"),
    (v) => t.set("state_filter", v)
  );
  const search = h("input", "qw-input qw-search");
  search.type = "search";
  search.placeholder = "Search prompts and names";
  search.setAttribute("aria-label", "Search prompts and names");
  search.value = t.get("search", "");
  let searchTimer;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => t.set("search", search.value), 200);
  });
  const sort = select("qw-sort", "Order", SORTS, t.get("sort", "newest"), (v) => t.set("sort", v));
  const refresh = button("↻ Refresh", "qw-refresh", () => sendMsg(send.refresh()), "Load the list again");
  const count = h("span", "qw-count", t.get("count_text", ""));
  tools.append(scope, state, search, sort, refresh, count);
}
function keepSearchFocus(el, fn) {
  const active = (
    /** @type {HTMLInputElement | null} */
    document.activeElement
  );
  const wasSearch = Boolean(active?.classList?.contains("qw-search") && el.contains(active));
  const caret = wasSearch && active ? active.selectionStart : 0;
  fn();
  if (wasSearch) {
    const again = (
      /** @type {HTMLInputElement | null} */
      el.querySelector(".qw-search")
    );
    if (again) {
      again.focus();
      again.setSelectionRange(caret, caret);
    }
  }
}
function drawMessage(node, t) {
  const text = t.get("message", "");
  node.textContent = text;
  node.hidden = !text;
  node.classList.toggle("qw-error", t.get("message_kind", "info") === "error");
}
function drawPager(pager, t) {
  pager.replaceChildren();
  const pages = t.get("page_count", 1);
  if (t.get("mode", "library") !== "library" || pages <= 1) {
    pager.hidden = true;
    return;
  }
  pager.hidden = false;
  const page = t.get("page", 0);
  const prev = button("‹ Previous", "qw-prev", () => t.set("page", Math.max(0, page - 1)));
  prev.disabled = page <= 0;
  const next = button("Next ›", "qw-next", () => t.set("page", Math.min(pages - 1, page + 1)));
  next.disabled = page >= pages - 1;
  pager.append(prev, h("span", "qw-page-label", `Page ${page + 1} of ${pages}`), next);
}

// js/canvas.js
var ALIVE_EVERY = 20;
function render({ model, el }) {
  const t = traits(model);
  const store = new PictureStore();
  let cards = [];
  let byId = /* @__PURE__ */ new Map();
  let wantTimer;
  const sendMsg = (msg) => model.send(msg);
  el.classList.add("qw-canvas");
  el.dataset.mode = t.get("mode", "library");
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const head = h("div", "qw-head");
  const titleNode = h("div", "qw-title");
  const tools = h("div", "qw-tools");
  head.append(titleNode, tools);
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
    order: () => t.get("mode", "library") === "runs" ? runOrder(t.get("runs", [])) : cards.map((c) => c.id),
    send: sendMsg,
    askForPictures
  });
  const cache = new CardCache({
    picture: (id) => store.thumb(id),
    thumbPx: () => t.get("thumb_px", 176),
    open: (id) => large.open(id),
    select: (id, on) => t.set("selected_ids", toggled(t.get("selected_ids", []), id, on))
  });
  function syncCards() {
    cards = t.get("cards", []).map((card) => ({ ...card }));
    byId = new Map(cards.map((card) => [card.id, card]));
    store.keepOnly(new Set(byId.keys()));
    drawBody();
  }
  function drawBody() {
    const active = document.activeElement;
    const focusedId = active instanceof HTMLElement && el.contains(active) && active.classList.contains("qw-card") ? active.dataset.id : null;
    body.replaceChildren();
    const selected = new Set(t.get("selected_ids", []));
    const grid = (ids) => cache.grid(ids, byId, selected);
    let live;
    if (t.get("mode", "library") === "runs") {
      const ctx = { grid, send: sendMsg, canUsePrompt: t.get("can_use_prompt", false) };
      live = drawRuns(body, t.get("runs", []), t.get("folded_runs", {}), ctx);
    } else {
      const ids = cards.map((card) => card.id);
      body.append(grid(ids));
      live = new Set(ids);
    }
    cache.keepOnly(live);
    if (focusedId) cache.get(focusedId)?.focus({ preventScroll: true });
    drawSelection(selectionBar, {
      shown: cards.map((card) => card.id),
      selected: () => t.get("selected_ids", []),
      setSelected: (ids) => t.set("selected_ids", ids),
      send: sendMsg
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
      saveFile(msg, buffers[0]);
    }
  }
  let beat = 0;
  const ticker = setInterval(() => {
    for (const node of el.querySelectorAll(".qw-elapsed")) {
      node.textContent = elapsed(Number(
        /** @type {HTMLElement} */
        node.dataset.since
      ));
    }
    beat += 1;
    if (beat % ALIVE_EVERY === 0 && el.isConnected) sendMsg(send.alive());
  }, 1e3);
  const onTools = () => keepSearchFocus(el, () => drawTools(titleNode, tools, t, sendMsg));
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
    ...["title", "status_filter", "state_filter", "search", "sort", "count_text", "mode"].map(
      (name) => (
        /** @type {[string, () => void]} */
        [`change:${name}`, onTools]
      )
    )
  ]);
  onTools();
  onMessageLine();
  onPage();
  syncCards();
  large.draw();
  sendMsg(send.hello([]));
  return () => {
    clearInterval(ticker);
    clearTimeout(wantTimer);
    unlisten();
    store.dispose();
    large.dispose();
  };
}
var canvas_default = { render };
export {
  canvas_default as default
};
