import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import canvas from "../canvas.js";
import { card, fakeModel, marbleOakRun, mount, tick } from "./fake-model.js";

let urls = 0;
beforeEach(() => {
  URL.createObjectURL = vi.fn(() => {
    urls += 1;
    return `blob:${urls}`;
  });
  URL.revokeObjectURL = vi.fn();
});
afterEach(() => {
  document.body.replaceChildren();
});

/** @param {HTMLElement} target @param {string} key @param {object} [extra] */
const press = (target, key, extra = {}) => {
  const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...extra });
  target.dispatchEvent(event);
  return event;
};
const bytes = () => new Uint8Array([1, 2, 3]).buffer;

/** A view with four pictures, "a" open and its large picture (768 x 512) arrived. */
async function opened(extra = {}) {
  const model = fakeModel({
    mode: "library",
    cards: ["a", "b", "c", "d"].map((id) => card({ id, thumb: 1 })),
    preview: { id: "a", prompt: "prompt of a", state: "done", image: "ready", w: 768, h: 512 },
    open_id: "",
    selected_ids: [],
    thumb_px: 176,
    product: {},
    preview_px: 1600,
    ...extra,
  });
  const view = await mount(canvas, model);
  model.trigger(
    "msg:custom",
    { kind: "thumbs", pictures: ["a", "b", "c", "d"].map((id) => ({ id, v: 1 })) },
    [bytes(), bytes(), bytes(), bytes()],
  );
  /** @type {HTMLElement} */ (view.el.querySelector('[data-id="a"]')).click();
  model.trigger("msg:custom", { kind: "preview", id: "a", fmt: "jpeg", w: 768, h: 512 }, [bytes()]);
  const overlay = /** @type {HTMLElement} */ (document.querySelector(".qw-overlay"));
  const stage = () => /** @type {HTMLElement} */ (overlay.querySelector(".qw-stage"));
  return { model, ...view, overlay, stage };
}

describe("the large view's picture", () => {
  it("tells Python the size it shows pictures at", async () => {
    const { model, cleanup } = await opened({ preview_px: 0 });
    expect(model.state.preview_px).toBeGreaterThanOrEqual(256);
    expect(model.state.preview_px % 256).toBe(0);
    cleanup();
  });

  it("shows the large picture at its size, and zooms with the wheel, + and -", async () => {
    const { overlay, stage, cleanup } = await opened();
    const img = /** @type {HTMLImageElement} */ (stage().querySelector(".qw-large-img"));
    expect(img.classList.contains("qw-large-low")).toBe(false);
    expect(img.style.width).toBe("768px");
    expect(stage().dataset.fit).toBe("yes");
    const pane = /** @type {HTMLElement} */ (stage().querySelector(".qw-pane"));
    pane.dispatchEvent(new WheelEvent("wheel", { deltaY: -100, bubbles: true, cancelable: true }));
    expect(Number(stage().dataset.zoom)).toBeCloseTo(1.25);
    expect(overlay.querySelector(".qw-zoom-text")?.textContent).toBe("125 %");
    press(overlay, "-");
    expect(Number(stage().dataset.zoom)).toBeCloseTo(1);
    press(overlay, "+");
    expect(Number(stage().dataset.zoom)).toBeCloseTo(1.25);
    cleanup();
  });

  it("Z toggles 100 % and fit", async () => {
    const { overlay, stage, cleanup } = await opened();
    press(overlay, "+");
    press(overlay, "z");
    expect(Number(stage().dataset.zoom)).toBe(1);
    expect(stage().dataset.fit).toBe("no");
    press(overlay, "Z");
    expect(stage().dataset.fit).toBe("yes");
    cleanup();
  });

  it("T tiles the picture 3 x 3 and back", async () => {
    const { overlay, stage, cleanup } = await opened();
    press(overlay, "t");
    const layer = /** @type {HTMLElement} */ (stage().querySelector(".qw-layer"));
    expect(layer.classList.contains("qw-tiled")).toBe(true);
    expect(layer.dataset.tiles).toBe("9");
    expect(layer.style.backgroundSize).toBe("768px 512px");
    expect(layer.style.width).toBe(`${768 * 3}px`);
    press(overlay, "T");
    expect(stage().querySelector(".qw-tiled")).toBeNull();
    expect(stage().querySelectorAll(".qw-layer img")).toHaveLength(1);
    cleanup();
  });

  it("prefetches the neighbours' large pictures and draws one at once when stepped to", async () => {
    const { model, overlay, stage, cleanup } = await opened();
    await tick();
    const wants = model.sent.filter((m) => m.kind === "want" && m.previews);
    expect(wants.at(-1).previews).toEqual(["b"]);
    model.trigger("msg:custom", { kind: "preview", id: "b", fmt: "jpeg", w: 600, h: 400 }, [bytes()]);
    press(overlay, "ArrowRight");
    expect(model.state.open_id).toBe("b");
    const img = /** @type {HTMLImageElement} */ (stage().querySelector(".qw-large-img"));
    expect(img.classList.contains("qw-large-low")).toBe(false);
    expect(img.style.width).toBe("600px");
    cleanup();
  });
});

describe("the large view drawn again", () => {
  it("keeps its stage, pictures and zoom when only its facts or a mark change", async () => {
    const { model, overlay, stage, cleanup } = await opened({
      keymap: [{ keys: ["p"], intent: "pick", contexts: ["large"] }],
    });
    press(overlay, "+");
    const before = stage();
    const img = before.querySelector(".qw-large-img");
    model.set("preview", { ...model.state.preview, vote: "approved" });
    expect(stage()).toBe(before);
    expect(stage().querySelector(".qw-large-img")).toBe(img);
    expect(Number(stage().dataset.zoom)).toBeCloseTo(1.25);
    expect(overlay.querySelector(".qw-facts")?.textContent).toContain("Approved");
    press(overlay, "P", { shiftKey: true }); // a mark that stays on this picture
    expect(overlay.querySelector(".qw-large-side .qw-mark-pick")).not.toBeNull();
    expect(stage()).toBe(before);
    cleanup();
  });
});

describe("the product preview", () => {
  it("sends a picked file as a buffer and composites the checked cutout at the bottom centre", async () => {
    const { model, overlay, stage, cleanup } = await opened();
    const input = /** @type {HTMLInputElement} */ (overlay.querySelector(".qw-product-file"));
    expect(input.accept).toBe("image/png,image/webp");
    const file = new File([new Uint8Array([9, 9])], "cut.png", { type: "image/png" });
    Object.defineProperty(input, "files", { value: [file] });
    input.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(model.sent.some((m) => m.kind === "product")).toBe(true));
    const at = model.sent.findIndex((m) => m.kind === "product");
    expect(at).toBeGreaterThanOrEqual(0);
    expect(model.sentBuffers[at][0].byteLength).toBe(2);

    model.set("product", { w: 200, h: 100, v: 1 });
    model.trigger("msg:custom", { kind: "product", fmt: "png", v: 1 }, [bytes()]);
    const cut = /** @type {HTMLImageElement} */ (stage().querySelector(".qw-product-img"));
    expect(cut.style.width).toBe(`${768 * 0.4}px`);
    expect(Number.parseFloat(cut.style.top) + Number.parseFloat(cut.style.height)).toBeCloseTo(512);
    const scale = /** @type {HTMLInputElement} */ (overlay.querySelector(".qw-product-scale"));
    scale.value = "50";
    scale.dispatchEvent(new Event("input"));
    expect(/** @type {HTMLElement} */ (stage().querySelector(".qw-product-img")).style.width).toBe("384px");
    const show = /** @type {HTMLInputElement} */ (overlay.querySelector(".qw-product-on"));
    show.checked = false;
    show.dispatchEvent(new Event("change"));
    expect(stage().querySelector(".qw-product-img")).toBeNull();
    cleanup();
  });
});

describe("compare", () => {
  it("C opens 2-4 selected pictures side by side in step, and S a slider for two", async () => {
    const { model, el, overlay, cleanup } = await opened();
    press(overlay, "Escape");
    model.set("selected_ids", ["b", "c"]);
    expect(/** @type {HTMLElement} */ (el.querySelector(".qw-compare-open")).hidden).toBe(false);
    press(/** @type {HTMLElement} */ (el.querySelector('[data-id="a"]')), "c");
    expect(model.state.open_id).toBe("b");
    const view = /** @type {HTMLElement} */ (document.querySelector(".qw-overlay"));
    const panes = view.querySelectorAll(".qw-stage-compare .qw-pane");
    expect(panes).toHaveLength(2);
    panes[0].dispatchEvent(new WheelEvent("wheel", { deltaY: -100, bubbles: true, cancelable: true }));
    const layers = /** @type {HTMLElement[]} */ ([...view.querySelectorAll(".qw-layer")]);
    expect(layers[0].style.transform).toBe(layers[1].style.transform);
    press(view, "ArrowRight");
    expect(model.state.open_id).toBe("c");
    expect(view.querySelectorAll(".qw-pane")[1].classList.contains("qw-pane-active")).toBe(true);
    press(view, "s");
    expect(view.querySelector(".qw-slider .qw-divider")).not.toBeNull();
    cleanup();
  });

  it("does not compare one picture or five", async () => {
    const { model, el, overlay, cleanup } = await opened();
    press(overlay, "Escape");
    model.set("selected_ids", ["a"]);
    expect(/** @type {HTMLElement} */ (el.querySelector(".qw-compare-open")).hidden).toBe(true);
    press(/** @type {HTMLElement} */ (el.querySelector('[data-id="a"]')), "c");
    expect(model.state.open_id).toBe("");
    cleanup();
  });
});

const KEYMAP = [
  { keys: ["p"], intent: "pick", contexts: ["grid", "large"] },
  { keys: ["x"], intent: "reject", contexts: ["grid", "large"] },
  { keys: ["3"], intent: "stars", contexts: ["grid", "large"], stars: 3 },
  { keys: ["c"], intent: "compare", contexts: ["grid", "large"] },
  { keys: ["z"], intent: "zoom_toggle", contexts: ["large"] },
  { keys: ["t"], intent: "tile", contexts: ["large"] },
  { keys: ["ArrowRight"], intent: "next", contexts: ["grid", "large"] },
  { keys: ["Escape"], intent: "close", contexts: ["large"] },
];

describe("marks in the large view", () => {
  it("P marks the open picture and moves on; the toggle off or Shift stays", async () => {
    const { model, overlay, stage, cleanup } = await opened({ keymap: KEYMAP, marks: {} });
    press(overlay, "p");
    expect(model.sent.filter((m) => m.kind === "mark").at(-1)).toMatchObject({ ids: ["a"], flag: "pick" });
    expect(model.state.open_id).toBe("b");
    press(overlay, "x", { shiftKey: true });
    expect(model.sent.filter((m) => m.kind === "mark").at(-1)).toMatchObject({ ids: ["b"], flag: "reject" });
    expect(model.state.open_id).toBe("b");
    const toggle = /** @type {HTMLInputElement} */ (overlay.querySelector(".qw-advance-on"));
    expect(toggle.checked).toBe(true);
    toggle.checked = false;
    toggle.dispatchEvent(new Event("change"));
    press(overlay, "3");
    expect(model.state.open_id).toBe("b");
    expect(overlay.querySelector(".qw-large-side .qw-mark")).not.toBeNull();
    press(overlay, "t"); // the key map's tile reaches the stage
    expect(stage().querySelector(".qw-layer.qw-tiled")).not.toBeNull();
    cleanup();
  });

  it("in the compare view a key marks the picture chosen with →", async () => {
    const { model, el, overlay, cleanup } = await opened({ keymap: KEYMAP, marks: {} });
    press(overlay, "Escape");
    model.set("selected_ids", ["c", "d"]);
    press(/** @type {HTMLElement} */ (el.querySelector('[data-id="a"]')), "c"); // the key map's compare
    const view = /** @type {HTMLElement} */ (document.querySelector(".qw-overlay"));
    expect(view.querySelectorAll(".qw-stage-compare .qw-pane")).toHaveLength(2);
    press(view, "ArrowRight");
    press(view, "p", { shiftKey: true });
    expect(model.sent.filter((m) => m.kind === "mark").at(-1)).toMatchObject({ ids: ["d"], flag: "pick" });
    expect(view.querySelectorAll(".qw-pane")[1].querySelector(".qw-mark")).not.toBeNull();
    cleanup();
  });
});

describe("the thumbnail size", () => {
  it("offers small / medium / large and draws the grid at the chosen one", async () => {
    const { model, el, cleanup } = await opened({ thumb_size: "medium" });
    expect(el.dataset.size).toBe("medium");
    const large = /** @type {HTMLElement} */ (el.querySelector(".qw-size-large"));
    expect(el.querySelector(".qw-size-medium")?.getAttribute("aria-pressed")).toBe("true");
    large.click();
    expect(model.state.thumb_size).toBe("large");
    expect(el.dataset.size).toBe("large");
    expect(el.querySelector(".qw-size-large")?.getAttribute("aria-pressed")).toBe("true");
    cleanup();
  });
});

describe("a comparison's picture in the large view", () => {
  it("says its template, its cell and '3 of 4', and ←/→ stay inside the comparison", async () => {
    const ids = ["a", "b", "c", "d"];
    const run = marbleOakRun({ ids }, { progress: "", credits: "" });
    const other = { key: "solo", prompt: "solo", ids: ["z"] };
    const model = fakeModel({
      mode: "runs",
      runs: [other, run],
      folded_runs: {},
      cards: [...ids, "z"].map((id) => card({ id, thumb: 1 })),
      preview: {},
      open_id: "",
      selected_ids: [],
      product: {},
    });
    const view = await mount(canvas, model);
    /** @type {HTMLElement} */ (view.el.querySelector('[data-id="c"]')).click();
    const overlay = /** @type {HTMLElement} */ (document.querySelector(".qw-overlay"));
    expect(overlay.querySelector(".qw-large-template")?.textContent).toBe(
      "Template: {marble|oak} counter, {warm|cold} light",
    );
    expect(overlay.querySelector(".qw-large-cell")?.textContent).toBe("oak × cold · 3 of 4");
    expect(overlay.querySelector(".qw-large-where")?.textContent).toBe("3 of 4");
    press(overlay, "ArrowRight");
    press(overlay, "ArrowRight");
    expect(model.state.open_id).toBe("a"); // wrapped inside the comparison, never to "z"
    view.cleanup();
  });
});
