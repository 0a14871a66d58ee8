import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import canvas from "../canvas.js";
import { drawCard } from "../grid/cards.js";
import { card, fakeModel, mount, tick } from "./fake-model.js";

/** @param {{v: number, url: string} | undefined} pic */
const ctx = (pic = undefined) => ({
  picture: () => pic,
  thumbPx: () => 176,
  open: vi.fn(),
  select: vi.fn(),
  mark: () => ({ flag: /** @type {const} */ (""), stars: 0 }),
  key: vi.fn(),
});

let urls = 0;
beforeEach(() => {
  urls = 0;
  URL.createObjectURL = vi.fn(() => `blob:picture-${++urls}`);
  URL.revokeObjectURL = vi.fn();
});
afterEach(() => {
  document.body.replaceChildren();
});

describe("a card's DOM for each state", () => {
  it("failed: no box to tick, since there is nothing to download or review", () => {
    const failed = drawCard(card({ id: "f", state: "failed", label: "Failed" }), false, ctx());
    const done = drawCard(card({ id: "d", state: "done" }), false, ctx());
    expect(failed.querySelector("input.qw-pick")).toBeNull();
    expect(done.querySelector("input.qw-pick")).not.toBeNull();
  });

  it("queued: a spinner, the label and the time since the job started", () => {
    const node = drawCard(
      card({ id: "q", state: "queued", label: "Queued", since: Date.now() }),
      false,
      ctx(),
    );
    expect(node.dataset.state).toBe("queued");
    expect(node.classList.contains("qw-queued")).toBe(true);
    expect(node.querySelector(".qw-spinner")).not.toBeNull();
    expect(node.querySelector(".qw-state-label")?.textContent).toBe("Queued");
    expect(node.querySelector(".qw-elapsed")?.textContent).toMatch(/^\d+ s$/);
    expect(node.querySelector("img")).toBeNull();
  });

  it("processing: a spinner and a placeholder that says what is happening", () => {
    const node = drawCard(card({ id: "p", state: "processing", label: "Processing" }), false, ctx());
    expect(node.querySelector(".qw-spinner")).not.toBeNull();
    const ph = node.querySelector(".qw-placeholder");
    expect(ph?.getAttribute("role")).toBe("img");
    expect(ph?.getAttribute("aria-label")).toBe("prompt of p: Processing");
    expect(node.querySelector(".qw-elapsed")).toBeNull(); // no start time known
  });

  it("done with its picture: the thumbnail, at the picture's version only", () => {
    const pic = { v: 3, url: "blob:three" };
    const node = drawCard(card({ id: "d", thumb: 3 }), true, ctx(pic));
    const img = /** @type {HTMLImageElement} */ (node.querySelector("img.qw-thumb-real"));
    expect(img.src).toBe("blob:three");
    expect(img.alt).toBe("prompt of d");
    expect(img.width).toBe(176);
    expect(node.classList.contains("qw-selected")).toBe(true);
    expect(/** @type {HTMLInputElement} */ (node.querySelector(".qw-pick")).checked).toBe(true);
    const older = drawCard(card({ id: "d", thumb: 4 }), false, ctx(pic));
    expect(older.querySelector("img")).toBeNull();
    expect(older.querySelector(".qw-state-label")?.textContent).toBe("Loading picture…");
  });

  it("failed: no spinner, the failure in words, the vote and creation date in the caption", () => {
    const node = drawCard(
      card({ id: "f", state: "failed", label: "Failed", vote: "rejected", created: "today" }),
      false,
      ctx(),
    );
    expect(node.querySelector(".qw-spinner")).toBeNull();
    expect(node.querySelector(".qw-state-label")?.textContent).toBe("Failed");
    expect(node.querySelector(".qw-vote")?.textContent).toBe("✕ Service: Rejected");
    expect(node.querySelector(".qw-created")?.textContent).toBe("today");
  });
});

describe("the canvas applies a patch in place", () => {
  it("keeps the same figure element when a card's fields and picture change", async () => {
    const model = fakeModel({
      mode: "library",
      cards: [card({ id: "a", state: "processing", label: "Processing" }), card({ id: "b" })],
      selected_ids: [],
      preview: {},
    });
    const { el, cleanup } = await mount(canvas, model);
    const before = el.querySelector('[data-id="a"]');
    const other = el.querySelector('[data-id="b"]');
    expect(before?.querySelector(".qw-spinner")).not.toBeNull();
    const patch = {
      kind: "patch",
      cards: [{ id: "a", state: "done", label: "Done" }],
      pictures: [{ id: "a", v: 1 }],
    };
    model.trigger("msg:custom", patch, [new DataView(new ArrayBuffer(4))]);
    const after = el.querySelector('[data-id="a"]');
    expect(after).toBe(before);
    expect(el.querySelector('[data-id="b"]')).toBe(other);
    expect(after?.getAttribute("data-state")).toBe("done");
    expect(after?.querySelector("img.qw-thumb-real")?.getAttribute("src")).toBe("blob:picture-1");
    cleanup();
  });

  it("keeps the focus on a card that a patch redraws", async () => {
    const model = fakeModel({ mode: "library", cards: [card({ id: "a", state: "queued" })], preview: {} });
    const { el, cleanup } = await mount(canvas, model);
    const node = /** @type {HTMLElement} */ (el.querySelector('[data-id="a"]'));
    node.focus();
    model.trigger(
      "msg:custom",
      { kind: "patch", cards: [{ id: "a", state: "processing" }], pictures: [] },
      [],
    );
    expect(document.activeElement).toBe(node);
    cleanup();
  });
});

describe("blob URLs follow the cards", () => {
  it("revokes a picture's URL when its card leaves, when a newer version arrives, and on removal", async () => {
    const model = fakeModel({
      mode: "library",
      cards: [card({ id: "a", thumb: 1 }), card({ id: "b", thumb: 1 })],
      preview: {},
    });
    const { cleanup } = await mount(canvas, model);
    const two = [new DataView(new ArrayBuffer(2)), new DataView(new ArrayBuffer(2))];
    model.trigger(
      "msg:custom",
      {
        kind: "thumbs",
        pictures: [
          { id: "a", v: 1 },
          { id: "b", v: 1 },
        ],
      },
      two,
    );
    expect(URL.createObjectURL).toHaveBeenCalledTimes(2);
    expect(URL.revokeObjectURL).not.toHaveBeenCalled();

    model.set("cards", [card({ id: "b", thumb: 1 })]); // "a" left the page
    expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:picture-1");

    model.trigger("msg:custom", { kind: "thumbs", pictures: [{ id: "b", v: 2 }] }, two.slice(1));
    expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:picture-2");

    cleanup();
    expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:picture-3");
    expect(model.listenerCount()).toBe(0);
  });

  it("asks again for a picture whose card comes back after leaving", async () => {
    const a = card({ id: "a", thumb: 1 });
    const model = fakeModel({ mode: "library", cards: [a], preview: {} });
    const { cleanup } = await mount(canvas, model);
    await tick();
    expect(model.sent.filter((m) => m.kind === "want").map((m) => m.ids)).toEqual([["a"]]);
    model.trigger("msg:custom", { kind: "thumbs", pictures: [{ id: "a", v: 1 }] }, [
      new DataView(new ArrayBuffer(1)),
    ]);
    model.set("cards", []);
    model.set("cards", [a]);
    await tick();
    expect(model.sent.filter((m) => m.kind === "want").map((m) => m.ids)).toEqual([["a"], ["a"]]);
    cleanup();
  });
});
