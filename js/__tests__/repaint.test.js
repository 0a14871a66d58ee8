// The canvas updates what changed instead of drawing the grid again: a MutationObserver over the body
// counts which card elements each step touches, and which were added to or removed from a grid.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import canvas from "../canvas.js";
import { card, fakeModel, marbleOakRun, mount } from "./fake-model.js";

const KEYMAP = [
  { keys: ["p"], intent: "pick", contexts: ["grid", "large"] },
  { keys: ["x"], intent: "reject", contexts: ["grid", "large"] },
];
const IDS = Array.from({ length: 48 }, (_, i) => `c${i}`);

let urls = 0;
beforeEach(() => {
  URL.createObjectURL = vi.fn(() => `blob:${++urls}`);
  URL.revokeObjectURL = vi.fn();
});
afterEach(() => {
  document.body.replaceChildren();
});

/** @param {Record<string, any>} [extra] */
async function grid48(extra = {}) {
  const model = fakeModel({
    mode: "library",
    cards: IDS.map((id) => card({ id, thumb: 1 })),
    marks: {},
    keymap: KEYMAP,
    selected_ids: [],
    preview: {},
    title: "Library",
    ...extra,
  });
  const view = await mount(canvas, model);
  const done = IDS.filter((id) => model.state.cards.find((/** @type {any} */ c) => c.id === id).thumb);
  model.trigger(
    "msg:custom",
    { kind: "thumbs", pictures: done.map((id) => ({ id, v: 1 })) },
    done.map(() => new Uint8Array([1]).buffer),
  );
  const body = /** @type {HTMLElement} */ (view.el.querySelector(".qw-body"));
  const nodes = new Map(IDS.map((id) => [id, body.querySelector(`[data-id="${id}"]`)]));
  const observer = new MutationObserver(() => {});
  observer.observe(body, { childList: true, subtree: true, attributes: true, characterData: true });
  return { model, ...view, body, nodes, changes: () => changesOf(observer.takeRecords()) };
}

/**
 * What a batch of mutations did: the cards touched inside (by id, with how many mutations each), the
 * cards added to or removed from a parent (themselves or inside a removed or added subtree), and the
 * mutations outside any card.
 * @param {MutationRecord[]} records
 */
function changesOf(records) {
  /** @type {Map<string, number>} */
  const inside = new Map();
  /** @type {string[]} */
  const moved = [];
  let outside = 0;
  /** @param {Node} node */
  const cardsIn = (node) =>
    node instanceof HTMLElement
      ? [node, ...node.querySelectorAll(".qw-card")].filter((n) => n.classList.contains("qw-card"))
      : [];
  for (const record of records) {
    const target = record.target instanceof Element ? record.target : record.target.parentElement;
    const owner = /** @type {HTMLElement | null} */ (target?.closest(".qw-card") || null);
    if (owner) inside.set(owner.dataset.id || "", (inside.get(owner.dataset.id || "") || 0) + 1);
    else outside += 1;
    for (const node of [...record.addedNodes, ...record.removedNodes]) {
      for (const c of cardsIn(node)) moved.push(/** @type {HTMLElement} */ (c).dataset.id || "");
    }
  }
  return { inside, moved, outside, total: records.length };
}

/**
 * A batch's changes in one comparable value: cards moved, mutations outside cards, cards touched.
 * @param {ReturnType<typeof changesOf>} changed
 */
const touched = (changed) => ({
  moved: changed.moved,
  outside: changed.outside,
  cards: [...changed.inside.keys()],
});

/** @param {Element} target @param {string} key */
const press = (target, key) => {
  target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
};

describe("a mark repaints one card once", () => {
  it("P on a card of 48 paints its badge, and Python's confirming answer paints nothing", async () => {
    const { model, body, nodes, changes, cleanup } = await grid48();
    const target = /** @type {HTMLElement} */ (nodes.get("c7"));
    const picture = target.querySelector("img.qw-thumb-real");
    target.focus();
    changes(); // focusing draws nothing; start counting from here

    press(target, "p");
    const painted = changes();
    expect(model.sent.filter((m) => m.kind === "mark")).toEqual([
      { kind: "mark", ids: ["c7"], flag: "pick", stars: null },
    ]);
    expect(touched(painted)).toEqual({ moved: [], outside: 0, cards: ["c7"] });
    expect(painted.inside.get("c7")).toBe(1); // the badge went in: one change
    expect(target.querySelector(".qw-mark-pick")).not.toBeNull();
    expect(target.querySelector("img.qw-thumb-real")).toBe(picture); // the picture was not made again

    // Python stores it: `marks` is synced, then the `marked` answer arrives.
    model.set("marks", { c7: { flag: "pick", stars: 0 } });
    model.trigger("msg:custom", { kind: "marked" }, []);
    expect(changes().total).toBe(0);
    for (const id of IDS) expect(body.querySelector(`[data-id="${id}"]`)).toBe(nodes.get(id));
    expect(target.querySelector(".qw-mark-pick")).not.toBeNull();
    expect(document.activeElement).toBe(target);
    cleanup();
  });

  it("a refused mark takes its badge off that one card again", async () => {
    const { model, nodes, changes, cleanup } = await grid48();
    const target = /** @type {HTMLElement} */ (nodes.get("c3"));
    target.focus();
    press(target, "x");
    expect(target.querySelector(".qw-mark-reject")).not.toBeNull();
    changes();
    model.trigger("msg:custom", { kind: "marked" }, []); // refused: `marks` did not change
    const reverted = changes();
    expect(touched(reverted)).toEqual({ moved: [], outside: 0, cards: ["c3"] });
    expect(target.querySelector(".qw-mark")).toBeNull();
    cleanup();
  });

  it("a mark made in another view of the widget repaints only that card", async () => {
    const { model, changes, cleanup } = await grid48();
    model.set("marks", { c9: { flag: "reject", stars: 2 } });
    const painted = changes();
    expect(touched(painted)).toEqual({ moved: [], outside: 0, cards: ["c9"] });
    cleanup();
  });
});

describe("a picture or a patch touches its own card only", () => {
  it("a thumbnail patch for one id changes that card and no other", async () => {
    const cards = IDS.map((id) => card({ id, thumb: 1 }));
    cards[20] = card({ id: "c20", state: "processing", label: "Processing", thumb: 0 });
    const { model, body, nodes, changes, cleanup } = await grid48({ cards });
    changes();
    model.trigger(
      "msg:custom",
      {
        kind: "patch",
        cards: [{ id: "c20", state: "done", label: "Done" }],
        pictures: [{ id: "c20", v: 1 }],
      },
      [new Uint8Array([1]).buffer],
    );
    const patched = changes();
    expect(touched(patched)).toEqual({ moved: [], outside: 0, cards: ["c20"] });
    expect(body.querySelector('[data-id="c20"] img.qw-thumb-real')).not.toBeNull();
    for (const id of IDS) expect(body.querySelector(`[data-id="${id}"]`)).toBe(nodes.get(id));
    cleanup();
  });

  it("a late thumbnail answering a want changes only its card", async () => {
    const cards = IDS.map((id) => card({ id, thumb: id === "c5" ? 2 : 1 }));
    const { model, changes, cleanup } = await grid48({ cards });
    changes();
    model.trigger("msg:custom", { kind: "thumbs", pictures: [{ id: "c5", v: 2 }] }, [
      new Uint8Array([1]).buffer,
    ]);
    const painted = changes();
    expect(touched(painted)).toEqual({ moved: [], outside: 0, cards: ["c5"] });
    cleanup();
  });
});

describe("a trait change redraws what depends on it", () => {
  it("ticking a card changes that card (and the selection bar), not the grid", async () => {
    const { model, changes, cleanup } = await grid48();
    model.set("selected_ids", ["c11"]);
    const ticked = changes();
    expect(touched(ticked)).toEqual({ moved: [], outside: 0, cards: ["c11"] });
    cleanup();
  });

  it("a new title touches no card", async () => {
    const { model, changes, cleanup } = await grid48();
    model.set("title", "Another title");
    expect(changes().total).toBe(0);
    cleanup();
  });

  it("a new card list keeps every card element still listed and moves only what moved", async () => {
    const { model, body, nodes, changes, cleanup } = await grid48();
    // c0 leaves, c47 moves to the front, a new card "n" comes in after c10.
    const ids = ["c47", ...IDS.slice(1, 11), "n", ...IDS.slice(11, 47)];
    model.set(
      "cards",
      ids.map((id) => card({ id, thumb: id === "n" ? 0 : 1 })),
    );
    const changed = changes();
    expect(new Set(changed.moved)).toEqual(new Set(["c0", "c47", "n"]));
    expect([...changed.inside.keys()]).toEqual([]);
    const drawn = [...body.querySelectorAll(".qw-card")].map(
      (n) => /** @type {HTMLElement} */ (n).dataset.id,
    );
    expect(drawn).toEqual(ids);
    for (const id of ids) if (id !== "n") expect(body.querySelector(`[data-id="${id}"]`)).toBe(nodes.get(id));
    cleanup();
  });
});

describe("the runs update in place", () => {
  /** A comparison over a-d with its drawn ids, as engine/runs.py sends it. @param {object} [row] */
  const comparison = (row = {}) => marbleOakRun({ ids: ["a", "b", "c", "d"] }, row);

  /** Two runs of 24 cards each and a comparison over a-d. */
  async function runs() {
    const first = IDS.slice(0, 24);
    const second = IDS.slice(24);
    const run = (/** @type {string} */ key, /** @type {string[]} */ ids, progress = "24 of 24 done") => ({
      key,
      prompt: `prompt ${key}`,
      ids,
      progress,
    });
    const model = fakeModel({
      mode: "runs",
      cards: [...IDS, "a", "b", "c", "d"].map((id) => card({ id, thumb: 1 })),
      runs: [run("r2", second), run("r1", first), comparison()],
      folded_runs: {},
      marks: {},
      keymap: KEYMAP,
      selected_ids: [],
      preview: {},
    });
    const view = await mount(canvas, model);
    const body = /** @type {HTMLElement} */ (view.el.querySelector(".qw-body"));
    const observer = new MutationObserver(() => {});
    observer.observe(body, { childList: true, subtree: true, attributes: true, characterData: true });
    return { model, run, first, second, body, ...view, changes: () => changesOf(observer.takeRecords()) };
  }

  it("a mark on a run's card touches that card only", async () => {
    const { body, changes, cleanup } = await runs();
    const target = /** @type {HTMLElement} */ (body.querySelector('[data-id="c30"]'));
    target.focus();
    press(target, "p");
    const painted = changes();
    expect(touched(painted)).toEqual({ moved: [], outside: 0, cards: ["c30"] });
    cleanup();
  });

  it("a run's new progress redraws its header, not its cards nor the other runs", async () => {
    const { model, run, first, second, body, changes, cleanup } = await runs();
    const heads = [...body.querySelectorAll(".qw-run-head")];
    model.set("runs", [run("r2", second, "23 of 24 done"), run("r1", first), comparison()]);
    const changed = changes();
    expect(touched(changed)).toMatchObject({ moved: [], cards: [] }); // only its header was drawn again
    const now = [...body.querySelectorAll(".qw-run-head")];
    expect(now[0]).not.toBe(heads[0]);
    expect(now.slice(1)).toEqual(heads.slice(1));
    expect(now[0].querySelector(".qw-run-progress-text")?.textContent).toBe("23 of 24 done");
    cleanup();
  });

  it("a comparison drawn again keeps its card elements and the focus on the one focused", async () => {
    const { model, run, first, second, body, cleanup } = await runs();
    const focused = /** @type {HTMLElement} */ (body.querySelector('[data-id="c"]'));
    focused.focus();
    model.set("runs", [run("r2", second), run("r1", first), comparison({ progress: "1 of 2 done" })]);
    expect(body.querySelector('[data-id="c"]')).toBe(focused);
    expect(body.querySelector(".qw-row-progress")?.textContent).toContain("1 of 2 done");
    expect(document.activeElement).toBe(focused);
    cleanup();
  });
});
