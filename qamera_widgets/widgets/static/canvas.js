// The results canvas: draws cards, runs, the selection bar and the large view from the model's
// traits, and sends intents back. It never fetches anything itself: pictures arrive as binary
// buffers in "thumbs" and "preview" messages, which it asks for with "want".

const VOTES = {
  approved: ["✓", "Approved"],
  rejected: ["✕", "Rejected"],
  none: ["○", "Not reviewed"],
};

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function button(label, className, onClick, title) {
  const node = h("button", `qw-btn ${className || ""}`.trim(), label);
  node.type = "button";
  if (title) node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

function elapsed(sinceMs) {
  const seconds = Math.max(0, Math.floor((Date.now() - sinceMs) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
}

function blobUrl(buffer, fmt) {
  return URL.createObjectURL(new Blob([buffer], { type: `image/${fmt || "jpeg"}` }));
}

async function copyText(text, node) {
  try {
    await navigator.clipboard.writeText(text);
    node.textContent = "Copied";
  } catch (err) {
    node.textContent = "Select and copy";
  }
  setTimeout(() => (node.textContent = "Copy id"), 1500);
}

// Which view shows the large view when a widget is displayed more than once (or an old view was
// detached without being removed): the one a person clicked in, else the first one on the page.
let overlayOwner = null;

function render({ model, el }) {
  const self = { connected: () => el.isConnected };
  const pictures = new Map(); // scenery id -> {v, url}
  const asked = new Map(); // scenery id -> version asked for and not yet received
  let cards = [];
  let byId = new Map();
  let preview = null; // {id, url} of the large picture held by this view
  let previewAsked = "";
  let wantTimer = null;
  const drawn = new Map(); // scenery id -> {key, node}

  el.classList.add("qw-canvas");
  el.dataset.mode = model.get("mode") || "library";
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

  const overlay = h("div", "qw-overlay");
  overlay.setAttribute("data-lm-suppress-shortcuts", "true");
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-modal", "true");
  overlay.tabIndex = -1;
  overlay.hidden = true; // attached to document.body only while a picture is open

  const get = (name, fallback) => {
    const value = model.get(name);
    return value === undefined || value === null ? fallback : value;
  };
  const setTrait = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };

  function syncCards() {
    cards = get("cards", []).map((card) => ({ ...card }));
    byId = new Map(cards.map((card) => [card.id, card]));
    drawBody();
  }

  // ---------- toolbar (library mode) ----------
  function drawTools() {
    titleNode.textContent = get("title", "");
    tools.replaceChildren();
    if (get("mode", "library") !== "library") return;
    const scope = h("div", "qw-segmented");
    scope.setAttribute("role", "group");
    scope.setAttribute("aria-label", "Which sceneries");
    for (const [value, label] of [["all", "All"], ["approved", "Approved"]]) {
      const b = button(label, get("status_filter", "all") === value ? "qw-on" : "", () =>
        setTrait("status_filter", value));
      b.setAttribute("aria-pressed", String(get("status_filter", "all") === value));
      scope.append(b);
    }
    const state = h("select", "qw-select qw-state-filter");
    state.setAttribute("aria-label", "Generation status");
    for (const [value, label] of [["all", "Any status"], ["done", "Done"], ["in progress", "In progress"], ["failed", "Failed"]]) {
      const option = h("option", "", label);
      option.value = value;
      option.selected = get("state_filter", "all") === value;
      state.append(option);
    }
    state.addEventListener("change", () => setTrait("state_filter", state.value));
    const search = h("input", "qw-input qw-search");
    search.type = "search";
    search.placeholder = "Search prompts and names";
    search.setAttribute("aria-label", "Search prompts and names");
    search.value = get("search", "");
    let searchTimer = null;
    search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => setTrait("search", search.value), 200);
    });
    const sort = h("select", "qw-select qw-sort");
    sort.setAttribute("aria-label", "Order");
    for (const [value, label] of [["newest", "Newest first"], ["oldest", "Oldest first"], ["name", "By name"]]) {
      const option = h("option", "", label);
      option.value = value;
      option.selected = get("sort", "newest") === value;
      sort.append(option);
    }
    sort.addEventListener("change", () => setTrait("sort", sort.value));
    const refresh = button("↻ Refresh", "qw-refresh", () => model.send({ kind: "refresh" }), "Load the list again");
    const count = h("span", "qw-count", get("count_text", ""));
    tools.append(scope, state, search, sort, refresh, count);
  }

  function keepSearchFocus(fn) {
    const active = document.activeElement;
    const wasSearch = active && active.classList && active.classList.contains("qw-search") && el.contains(active);
    const caret = wasSearch ? active.selectionStart : 0;
    fn();
    if (wasSearch) {
      const again = el.querySelector(".qw-search");
      if (again) {
        again.focus();
        again.setSelectionRange(caret, caret);
      }
    }
  }

  function drawMessage() {
    const text = get("message", "");
    messageNode.textContent = text;
    messageNode.hidden = !text;
    messageNode.classList.toggle("qw-error", get("message_kind", "info") === "error");
  }

  function drawPager() {
    pager.replaceChildren();
    const pages = get("page_count", 1);
    if (get("mode", "library") !== "library" || pages <= 1) {
      pager.hidden = true;
      return;
    }
    pager.hidden = false;
    const page = get("page", 0);
    const prev = button("‹ Previous", "qw-prev", () => setTrait("page", Math.max(0, page - 1)));
    prev.disabled = page <= 0;
    const next = button("Next ›", "qw-next", () => setTrait("page", Math.min(pages - 1, page + 1)));
    next.disabled = page >= pages - 1;
    pager.append(prev, h("span", "qw-page-label", `Page ${page + 1} of ${pages}`), next);
  }

  // ---------- selection ----------
  function drawSelection() {
    const selected = get("selected_ids", []);
    selectionBar.replaceChildren();
    if (!cards.length && !selected.length) {
      selectionBar.hidden = true;
      return;
    }
    selectionBar.hidden = false;
    const none = selected.length === 0;
    const label = h("span", "qw-selected-count", none ? "Nothing selected" : `${selected.length} selected`);
    const all = button("Select all shown", "qw-select-page", () => {
      const ids = [...selected];
      for (const card of cards) if (!ids.includes(card.id)) ids.push(card.id);
      setTrait("selected_ids", ids);
    });
    const clear = button("Clear", "qw-clear", () => setTrait("selected_ids", []));
    clear.disabled = none;
    const sheet = button("⤓ Contact sheet (PNG)", "qw-download-sheet", () =>
      model.send({ kind: "download", what: "sheet", ids: get("selected_ids", []) }), "One image of the selected pictures with their prompts");
    sheet.disabled = none;
    const zip = button("⤓ Originals (zip)", "qw-download-zip", () =>
      model.send({ kind: "download", what: "zip", ids: get("selected_ids", []) }), "The full-size files of the selected pictures");
    zip.disabled = none;
    selectionBar.append(label, all, clear, sheet, zip);
  }

  function toggleSelected(id, on) {
    const ids = get("selected_ids", []).filter((x) => x !== id);
    if (on) ids.push(id);
    setTrait("selected_ids", ids);
  }

  // ---------- cards ----------
  function cardKey(card, selected) {
    const pic = pictures.get(card.id);
    return JSON.stringify([card, selected, pic ? pic.v : 0]);
  }

  function drawCard(card, selected) {
    const node = h("figure", `qw-card qw-${card.state}`);
    node.tabIndex = 0;
    node.dataset.id = card.id;
    node.dataset.state = card.state;
    const caption = card.prompt || card.name || "(no name)";
    node.setAttribute("aria-label", `${caption}. ${card.label || "Finished"}. Press Enter to open large.`);
    if (selected) node.classList.add("qw-selected");

    const tile = h("div", "qw-tile");
    const pic = pictures.get(card.id);
    if (card.state === "done" && pic && pic.v === card.thumb) {
      const img = h("img", "qw-thumb qw-thumb-real");
      img.src = pic.url;
      img.alt = caption;
      img.width = get("thumb_px", 176);
      img.height = get("thumb_px", 176);
      img.draggable = false;
      tile.append(img);
    } else {
      const ph = h("div", "qw-placeholder");
      ph.setAttribute("role", "img");
      ph.setAttribute("aria-label", `${caption}: ${card.label || "loading picture"}`);
      if (card.state === "processing" || card.state === "queued" || card.state === "waiting") {
        ph.append(h("span", "qw-spinner"));
      }
      const state = h("span", "qw-state-label", card.state === "done" ? "Loading picture…" : card.label);
      ph.append(state);
      if ((card.state === "processing" || card.state === "queued") && card.since) {
        const time = h("span", "qw-elapsed", elapsed(card.since));
        time.dataset.since = card.since;
        ph.append(time);
      }
      tile.append(ph);
    }
    const pick = h("input", "qw-pick");
    pick.type = "checkbox";
    pick.checked = selected;
    pick.setAttribute("aria-label", `Select ${caption}`);
    pick.addEventListener("click", (event) => event.stopPropagation());
    pick.addEventListener("change", () => toggleSelected(card.id, pick.checked));
    tile.append(pick);

    const figcaption = h("figcaption", "qw-caption");
    const text = h("div", "qw-caption-text", caption);
    text.title = caption;
    const meta = h("div", "qw-meta");
    const [icon, word] = VOTES[card.vote] || VOTES.none;
    const vote = h("span", `qw-vote qw-vote-${card.vote}`);
    vote.title = `Review: ${word}`;
    vote.append(h("span", "qw-vote-icon", icon), document.createTextNode(` ${word}`));
    meta.append(vote);
    if (card.created) meta.append(h("span", "qw-created", card.created));
    figcaption.append(text, meta);
    node.append(tile, figcaption);
    node.addEventListener("click", () => openCard(card.id));
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openCard(card.id);
      }
    });
    return node;
  }

  function grid(ids) {
    const box = h("div", "qw-grid");
    box.style.setProperty("--qw-thumb", `${get("thumb_px", 176)}px`);
    const selected = new Set(get("selected_ids", []));
    for (const id of ids) {
      const card = byId.get(id);
      if (!card) continue;
      const key = cardKey(card, selected.has(id));
      let entry = drawn.get(id);
      if (!entry || entry.key !== key) {
        entry = { key, node: drawCard(card, selected.has(id)) };
        drawn.set(id, entry);
      }
      box.append(entry.node);
    }
    return box;
  }

  function runHeader(run) {
    const header = h("div", "qw-run-head");
    const toggle = button(run.collapsed ? "▸" : "▾", "qw-run-toggle", () =>
      model.send({ kind: "toggle_run", key: run.key }), run.collapsed ? "Show this run" : "Fold this run");
    toggle.setAttribute("aria-expanded", String(!run.collapsed));
    const prompt = h("div", "qw-run-prompt", run.prompt || "Tracked records");
    prompt.title = run.prompt || "";
    const meta = h("div", "qw-run-meta");
    meta.append(h("span", "", run.meta || ""));
    if (run.credits) meta.append(h("span", "qw-run-credits", run.credits));
    const progress = h("div", "qw-run-progress");
    const bar = h("div", "qw-bar");
    const total = Math.max(1, run.total || 1);
    const done = h("span", "qw-bar-done");
    done.style.width = `${(100 * (run.done || 0)) / total}%`;
    const failed = h("span", "qw-bar-failed");
    failed.style.width = `${(100 * (run.failed || 0)) / total}%`;
    bar.append(done, failed);
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String((run.done || 0) + (run.failed || 0)));
    progress.append(bar, h("span", "qw-run-progress-text", run.progress || ""));
    const text = h("div", "qw-run-text");
    text.append(prompt, meta, progress);
    header.append(toggle, text);
    if (run.use_prompt && get("can_use_prompt", false)) {
      const actions = h("div", "qw-run-actions");
      actions.append(
        button("Run again", "qw-run-again", () => model.send({ kind: "run_again", key: run.key }),
          "Generate this prompt again (asks first, with the cost)"),
        button("Edit", "qw-run-reuse", () => model.send({ kind: "use_run_prompt", key: run.key }),
          "Put this prompt into the form to change it"),
      );
      header.append(actions);
    }
    return header;
  }

  // One row of a comparison: the prompt with the words that vary marked, then its pictures.
  function compareRow(row) {
    const node = h("div", "qw-compare-row");
    node.dataset.key = row.key;
    const label = h("div", "qw-row-label");
    const text = h("div", "qw-row-prompt");
    const parts = row.parts && row.parts.length ? row.parts : [[row.prompt, false]];
    for (const [piece, varies] of parts) text.append(varies ? h("mark", "qw-varies", piece) : document.createTextNode(piece));
    text.title = row.prompt;
    label.append(text, h("div", "qw-row-progress", `${row.progress} · ${row.credits}`));
    const cards = grid(row.ids || []);
    cards.classList.add("qw-row-grid");
    node.append(label, cards);
    return node;
  }

  function drawBody() {
    const mode = get("mode", "library");
    const active = document.activeElement;
    const focusedId = active && el.contains(active) && active.classList.contains("qw-card") ? active.dataset.id : null;
    body.replaceChildren();
    const live = new Set();
    if (mode === "runs") {
      const runs = get("runs", []);
      for (const run of runs) {
        const compare = run.kind === "compare";
        const section = h("section", `qw-run${compare ? " qw-compare" : ""}${run.collapsed ? " qw-collapsed" : ""}`);
        section.dataset.key = run.key;
        section.append(runHeader(run));
        if (!run.collapsed && compare) {
          for (const row of run.rows || []) section.append(compareRow(row));
        } else if (!run.collapsed) {
          section.append(grid(run.ids || []));
        }
        if (!run.collapsed) for (const id of run.ids || []) live.add(id);
        body.append(section);
      }
      const folded = get("folded_runs", {});
      if (folded && folded.count) {
        const line = h("div", "qw-folded");
        line.append(h("span", "", folded.text || `${folded.count} earlier runs`));
        line.append(button("Show more", "qw-show-more", () => model.send({ kind: "more_runs" })));
        body.append(line);
      }
    } else {
      const ids = cards.map((card) => card.id);
      body.append(grid(ids));
      for (const id of ids) live.add(id);
    }
    for (const id of [...drawn.keys()]) if (!live.has(id)) drawn.delete(id);
    if (focusedId && drawn.has(focusedId)) drawn.get(focusedId).node.focus({ preventScroll: true });
    drawSelection();
    askForPictures();
  }

  // ---------- pictures ----------
  function askForPictures() {
    clearTimeout(wantTimer);
    wantTimer = setTimeout(() => {
      const ids = [];
      for (const card of cards) {
        if (!card.thumb) continue;
        const have = pictures.get(card.id);
        if ((have && have.v === card.thumb) || asked.get(card.id) === card.thumb) continue;
        asked.set(card.id, card.thumb);
        ids.push(card.id);
      }
      const p = get("preview", {});
      let previewId = null;
      if (p && p.image === "ready" && (!preview || preview.id !== p.id) && previewAsked !== p.id) {
        previewId = p.id;
        previewAsked = p.id;
      }
      if (ids.length || previewId) model.send({ kind: "want", ids, preview: previewId });
    }, 0);
  }

  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "thumbs" || msg.kind === "patch") {
      for (const change of msg.cards || []) {
        const card = byId.get(change.id);
        if (card) Object.assign(card, change);
      }
      (msg.thumbs || msg.items || []).forEach((item, index) => {
        const card = byId.get(item.id);
        if (card && msg.kind === "patch" && (card.thumb || 0) < item.v) card.thumb = item.v; // rides along
        const old = pictures.get(item.id);
        if (old && old.v >= item.v) return;
        if (old) URL.revokeObjectURL(old.url);
        pictures.set(item.id, { v: item.v, url: blobUrl(buffers[index], item.fmt) });
        asked.delete(item.id);
      });
      drawBody();
      if (msg.kind === "thumbs") drawOverlay();
    } else if (msg.kind === "preview") {
      if (preview) URL.revokeObjectURL(preview.url);
      preview = { id: msg.id, url: blobUrl(buffers[0], msg.fmt) };
      previewAsked = "";
      drawOverlay();
    } else if (msg.kind === "file") {
      const url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
      const link = h("a");
      link.href = url;
      link.download = msg.name;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }
  }

  // ---------- large view ----------
  let lastFocus = null;

  function orderedIds() {
    if (get("mode", "library") !== "runs") return cards.map((card) => card.id);
    const ids = [];
    for (const run of get("runs", [])) if (!run.collapsed) ids.push(...(run.ids || []));
    return ids;
  }

  function openCard(id) {
    overlayOwner = self;
    lastFocus = document.activeElement;
    setTrait("open_id", id);
  }

  function step(delta) {
    const ids = orderedIds();
    const index = ids.indexOf(get("open_id", ""));
    if (index < 0 || !ids.length) return;
    const next = ids[(index + delta + ids.length) % ids.length];
    setTrait("open_id", next);
  }

  function closeLarge() {
    setTrait("open_id", "");
  }

  function drawOverlay() {
    const id = get("open_id", "");
    const p = get("preview", {});
    if (!id) {
      if (!overlay.hidden) {
        overlay.hidden = true;
        overlay.replaceChildren();
        overlay.remove();
        if (lastFocus && document.contains(lastFocus)) lastFocus.focus();
        else {
          const node = el.querySelector(`.qw-card[data-id="${CSS.escape(lastOpened || "")}"]`);
          if (node) node.focus();
        }
      }
      return;
    }
    if (!overlayOwner || !overlayOwner.connected()) overlayOwner = el.isConnected ? self : overlayOwner;
    if (overlayOwner !== self || !el.isConnected) {
      overlay.hidden = true;
      overlay.replaceChildren();
      overlay.remove();
      return;
    }
    lastOpened = id;
    const card = byId.get(id) || {};
    overlay.replaceChildren();
    overlay.hidden = false;
    // Outside the output's containers, so it covers the page; inside the view's shadow root when the
    // host draws widgets in one (marimo), since the widget's CSS reaches only that root.
    const root = el.getRootNode();
    if (!overlay.isConnected) (root instanceof ShadowRoot ? root : document.body).appendChild(overlay);
    const panel = h("div", "qw-large");
    const stage = h("div", "qw-stage");
    const caption = p.prompt || p.name || card.prompt || card.name || "(no name)";
    if (p.id === id && p.image === "ready" && preview && preview.id === id) {
      const img = h("img", "qw-large-img");
      img.src = preview.url;
      img.alt = caption;
      stage.append(img);
    } else {
      const pic = pictures.get(id);
      if (pic) {
        const img = h("img", "qw-large-img qw-large-low");
        img.src = pic.url;
        img.alt = caption;
        stage.append(img);
      }
      const note = p.image === "failed" ? "The full picture could not be loaded." :
        p.image === "none" ? (p.label || card.label || "No picture yet") : "Loading the full picture…";
      stage.append(h("div", "qw-stage-note", note));
    }
    const side = h("div", "qw-large-side");
    const heading = h("h3", "qw-large-prompt", caption);
    side.append(heading);
    if (p.prompt && p.name && p.name !== p.prompt) side.append(h("div", "qw-large-name", `Name: ${p.name}`));
    const facts = h("dl", "qw-facts");
    const fact = (term, value) => {
      if (!value) return;
      facts.append(h("dt", "", term), h("dd", "", value));
    };
    fact("Status", p.label || (p.state === "done" ? "Done" : ""));
    const [icon, word] = VOTES[p.vote] || VOTES.none;
    fact("Review", `${icon} ${word}`);
    fact("Created", p.created);
    side.append(facts);
    const idRow = h("div", "qw-id-row");
    idRow.append(h("code", "qw-id", id));
    const copy = button("Copy id", "qw-copy", () => copyText(id, copy));
    idRow.append(copy);
    side.append(idRow);
    const actions = h("div", "qw-large-actions");
    if (p.url) {
      const link = h("a", "qw-btn qw-original", "Open original ↗");
      link.href = p.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      actions.append(link);
    }
    if (get("can_use_prompt", false)) {
      actions.append(button("Use this prompt", "qw-use-prompt", () => model.send({ kind: "use_prompt", id })));
    }
    side.append(actions);
    const nav = h("div", "qw-large-nav");
    nav.append(
      button("‹ Previous", "qw-large-prev", () => step(-1), "Previous picture (←)"),
      button("Next ›", "qw-large-next", () => step(1), "Next picture (→)"),
      button("Close ✕", "qw-large-close", closeLarge, "Close (Esc)"),
    );
    side.append(nav, h("div", "qw-hint", "← → move · Esc closes"));
    panel.append(stage, side);
    overlay.append(panel);
    overlay.setAttribute("aria-label", `Large view: ${caption}`);
    if (!overlay.contains(document.activeElement)) overlay.focus();
    askForPictures();
  }
  let lastOpened = "";

  overlay.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeLarge();
    else if (event.key === "ArrowRight") step(1);
    else if (event.key === "ArrowLeft") step(-1);
    else return;
    event.preventDefault();
    event.stopPropagation();
  });
  overlay.addEventListener("click", (event) => {
    if (event.target === overlay) closeLarge();
  });

  // ---------- elapsed time on live placeholders, and "still here" for the kernel ----------
  let beat = 0;
  const ticker = setInterval(() => {
    for (const node of el.querySelectorAll(".qw-elapsed")) node.textContent = elapsed(Number(node.dataset.since));
    beat += 1;
    if (beat % 20 === 0 && el.isConnected) model.send({ kind: "alive" }); // a closed tab stops this
  }, 1000);

  // ---------- wiring ----------
  const onCards = () => syncCards();
  const onRuns = () => drawBody();
  const onSelected = () => drawBody();
  const onTools = () => keepSearchFocus(drawTools);
  const onPage = () => drawPager();
  const onOpen = () => drawOverlay();
  const listeners = [
    ["change:cards", onCards], ["change:runs", onRuns], ["change:folded_runs", onRuns],
    ["change:selected_ids", onSelected], ["change:can_use_prompt", onOpen], ["change:message", drawMessage],
    ["change:message_kind", drawMessage], ["change:open_id", onOpen], ["change:preview", onOpen],
    ["change:page", onPage], ["change:page_count", onPage], ["msg:custom", onMessage],
    ...["title", "status_filter", "state_filter", "search", "sort", "count_text", "mode"].map(
      (name) => [`change:${name}`, onTools]),
  ];
  for (const [event, handler] of listeners) model.on(event, handler);

  drawTools();
  drawMessage();
  drawPager();
  syncCards();
  drawOverlay();
  model.send({ kind: "hello", ids: [] });

  return () => {
    clearInterval(ticker);
    clearTimeout(wantTimer);
    for (const [event, handler] of listeners) model.off(event, handler);
    for (const pic of pictures.values()) URL.revokeObjectURL(pic.url);
    if (preview) URL.revokeObjectURL(preview.url);
    if (overlayOwner === self) overlayOwner = null;
    overlay.remove();
  };
}

export default { render };
