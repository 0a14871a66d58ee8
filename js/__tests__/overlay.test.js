import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import canvas from "../canvas.js";
import { card, fakeModel, mount } from "./fake-model.js";

beforeEach(() => {
  URL.createObjectURL = vi.fn(() => "blob:x");
  URL.revokeObjectURL = vi.fn();
});
afterEach(() => {
  document.body.replaceChildren();
});

/** @param {HTMLElement} target @param {string} key @param {boolean} [shiftKey] */
const press = (target, key, shiftKey = false) => {
  const event = new KeyboardEvent("keydown", { key, shiftKey, bubbles: true, cancelable: true });
  target.dispatchEvent(event);
  return event;
};

async function opened() {
  const model = fakeModel({
    mode: "library",
    cards: [card({ id: "a" }), card({ id: "b" })],
    preview: {
      id: "a",
      prompt: "prompt of a",
      state: "done",
      image: "loading",
      url: "https://cdn.test/a.jpg",
    },
    open_id: "",
    can_use_prompt: true,
  });
  const view = await mount(canvas, model);
  const cardNode = /** @type {HTMLElement} */ (view.el.querySelector('[data-id="a"]'));
  cardNode.focus();
  cardNode.click();
  const overlay = /** @type {HTMLElement} */ (document.querySelector(".qw-overlay"));
  return { model, ...view, cardNode, overlay };
}

describe("the large view", () => {
  it("is a modal dialog on document.body that takes the focus", async () => {
    const { model, overlay, cleanup } = await opened();
    expect(model.state.open_id).toBe("a");
    expect(overlay.parentElement).toBe(document.body);
    expect(overlay.getAttribute("role")).toBe("dialog");
    expect(overlay.getAttribute("aria-modal")).toBe("true");
    expect(overlay.contains(document.activeElement)).toBe(true);
    cleanup();
    expect(document.querySelector(".qw-overlay")).toBeNull();
  });

  it("keeps Tab and Shift+Tab inside itself", async () => {
    const { overlay, cleanup } = await opened();
    const focusable = /** @type {HTMLElement[]} */ ([...overlay.querySelectorAll("a[href], button")]);
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    // The bar comes first, so Previous/Next/Close are the first stops (and stay in sight).
    expect(first.classList.contains("qw-large-prev")).toBe(true);
    expect(last.classList.contains("qw-use-prompt")).toBe(true);

    last.focus();
    expect(press(last, "Tab").defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(first);

    expect(press(first, "Tab", true).defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(last);

    overlay.focus(); // the dialog itself, as when it opens: Tab goes to its first control
    press(overlay, "Tab");
    expect(document.activeElement).toBe(first);

    const middle = focusable[1];
    middle.focus();
    expect(press(middle, "Tab").defaultPrevented).toBe(false); // the browser moves on inside
    cleanup();
  });

  it("steps with the arrow keys and gives the focus back to the card on Escape", async () => {
    const { model, overlay, cardNode, cleanup } = await opened();
    press(overlay, "ArrowRight");
    expect(model.state.open_id).toBe("b");
    press(overlay, "ArrowRight");
    expect(model.state.open_id).toBe("a");
    press(/** @type {HTMLElement} */ (document.activeElement), "Escape");
    expect(model.state.open_id).toBe("");
    expect(document.querySelector(".qw-overlay")).toBeNull();
    expect(document.activeElement).toBe(cardNode);
    cleanup();
  });
});
