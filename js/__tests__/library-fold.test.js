import { afterEach, describe, expect, it } from "vitest";
import canvas from "../canvas.js";
import { card, fakeModel, mount } from "./fake-model.js";

afterEach(() => {
  document.body.replaceChildren();
});

describe("a studio's library folded to one line", () => {
  it("shows its title and count with Show; a click opens it", async () => {
    const model = fakeModel({
      mode: "library",
      title: "Library",
      collapsed: true,
      count_text: "1-24 of 58",
      cards: [card({ id: "a" })],
      preview: {},
    });
    const { el, cleanup } = await mount(canvas, model);
    const fold = /** @type {HTMLButtonElement} */ (el.querySelector(".qw-lib-fold"));
    expect(el.classList.contains("qw-lib-collapsed")).toBe(true);
    expect(fold.hidden).toBe(false);
    expect(fold.textContent).toBe("▸ Show · 1-24 of 58");
    expect(fold.getAttribute("aria-expanded")).toBe("false");
    fold.click();
    expect(model.state.collapsed).toBe(false);
    expect(el.classList.contains("qw-lib-collapsed")).toBe(false);
    expect(fold.textContent).toBe("▾ Fold");
    cleanup();
  });

  it("offers no fold where the widget is not foldable (a gallery of its own, a board)", async () => {
    const model = fakeModel({ mode: "library", title: "Library", cards: [], preview: {} });
    const { el, cleanup } = await mount(canvas, model);
    expect(/** @type {HTMLButtonElement} */ (el.querySelector(".qw-lib-fold")).hidden).toBe(true);
    cleanup();
  });
});
