import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import canvas from "../canvas.js";
import { card, fakeModel, mount } from "./fake-model.js";

beforeEach(() => {
  URL.createObjectURL = vi.fn(() => "blob:file");
  URL.revokeObjectURL = vi.fn();
});
afterEach(() => {
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

/** Answers a download as canvas.py does: the file, with the request id of the intent echoed. */
function answer(/** @type {ReturnType<typeof fakeModel>} */ model) {
  const asked = model.sent.filter((m) => m.kind === "download").at(-1);
  model.trigger(
    "msg:custom",
    { kind: "file", name: "contact-sheet.png", mime: "image/png", request: asked.request },
    [new DataView(new ArrayBuffer(3))],
  );
}

/** A library of one selected card, and the spy that counts the files the browser is told to save. */
function library() {
  const saved = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
  const model = fakeModel({ mode: "library", cards: [card({ id: "a" })], selected_ids: ["a"], preview: {} });
  return { saved, model };
}

describe("one click, one download", () => {
  it("saves the file once although two views of the model receive it", async () => {
    const { saved, model } = library();
    // The old view of a replaced output (view.update) keeps listening, as in notebooks 02 and 04.
    const old = await mount(canvas, model);
    const shown = await mount(canvas, model);
    /** @type {HTMLButtonElement} */ (shown.el.querySelector(".qw-download-sheet")).click();
    answer(model);
    expect(saved).toHaveBeenCalledTimes(1);
    answer(model); // the same answer again is not a second download
    expect(saved).toHaveBeenCalledTimes(1);
    /** @type {HTMLButtonElement} */ (old.el.querySelector(".qw-download-zip")).click();
    answer(model);
    expect(saved).toHaveBeenCalledTimes(2);
    const requests = model.sent.filter((m) => m.kind === "download").map((m) => m.request);
    expect(new Set(requests).size).toBe(2);
    old.cleanup();
    shown.cleanup();
  });

  it("saves nothing for a file no view asked for", async () => {
    const { saved, model } = library();
    const view = await mount(canvas, model);
    model.trigger("msg:custom", { kind: "file", name: "x.png", mime: "image/png" }, [
      new DataView(new ArrayBuffer(1)),
    ]);
    expect(saved).not.toHaveBeenCalled();
    view.cleanup();
  });
});
