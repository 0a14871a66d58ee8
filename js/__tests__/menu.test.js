import { afterEach, describe, expect, it } from "vitest";
import canvas from "../canvas.js";
import { card, fakeModel, marbleOakRun, mount } from "./fake-model.js";

afterEach(() => {
  document.body.replaceChildren();
});

/** @param {Element | null} target @param {string} key @param {object} [extra] */
const press = (target, key, extra = {}) => {
  const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...extra });
  /** @type {Element} */ (target).dispatchEvent(event);
  return event;
};
const active = () => /** @type {HTMLElement} */ (document.activeElement);

/** The Runs view of one 2 x 2 comparison over a-d, "a" picked. */
async function runs(extra = {}) {
  const model = fakeModel({
    mode: "runs",
    cards: ["a", "b", "c", "d"].map((id) => card({ id, run: "cmp" })),
    runs: [marbleOakRun()],
    folded_runs: {},
    marks: { a: { flag: "pick", stars: 0 } },
    selected_ids: [],
    preview: {},
    ...extra,
  });
  const view = await mount(canvas, model);
  const opener = /** @type {HTMLButtonElement} */ (view.el.querySelector(".qw-head .qw-export-menu"));
  const menu = /** @type {HTMLElement} */ (view.el.querySelector(".qw-head [role=menu]"));
  return { model, ...view, opener, menu };
}

describe("the Export menu of the runs", () => {
  it("is one button that opens a menu of the review's downloads", async () => {
    const { el, opener, menu, cleanup } = await runs();
    expect(el.querySelectorAll(".qw-head > .qw-tools > button.qw-export-review")).toHaveLength(0);
    expect(opener.getAttribute("aria-haspopup")).toBe("menu");
    expect(opener.getAttribute("aria-expanded")).toBe("false");
    expect(opener.getAttribute("aria-controls")).toBe(menu.id);
    expect(menu.hidden).toBe(true);
    opener.click();
    expect(opener.getAttribute("aria-expanded")).toBe("true");
    expect(menu.hidden).toBe(false);
    const items = [...menu.querySelectorAll("[role=menuitem]")].map((n) => n.className);
    expect(items).toEqual([
      "qw-menu-item qw-export-review",
      "qw-menu-item qw-picks-sheet",
      "qw-menu-item qw-picks-zip",
    ]);
    expect(active().classList.contains("qw-export-review")).toBe(true);
    cleanup();
  });

  it("moves with the arrow keys, Home, End and Tab, wrapping at the ends", async () => {
    const { opener, cleanup } = await runs();
    opener.focus();
    press(opener, "ArrowDown");
    expect(active().classList.contains("qw-export-review")).toBe(true);
    press(active(), "ArrowDown");
    expect(active().classList.contains("qw-picks-sheet")).toBe(true);
    press(active(), "ArrowDown");
    press(active(), "ArrowDown");
    expect(active().classList.contains("qw-export-review")).toBe(true);
    press(active(), "ArrowUp");
    expect(active().classList.contains("qw-picks-zip")).toBe(true);
    press(active(), "Home");
    expect(active().classList.contains("qw-export-review")).toBe(true);
    press(active(), "Tab");
    expect(active().classList.contains("qw-picks-sheet")).toBe(true);
    press(active(), "End");
    expect(active().classList.contains("qw-picks-zip")).toBe(true);
    expect(active().tabIndex).toBe(0);
    cleanup();
  });

  it("ArrowUp on the button opens it on the last item", async () => {
    const { opener, menu, cleanup } = await runs();
    press(opener, "ArrowUp");
    expect(menu.hidden).toBe(false);
    expect(active().classList.contains("qw-picks-zip")).toBe(true);
    cleanup();
  });

  it("Escape closes it and gives the focus back to its button", async () => {
    const { model, opener, menu, cleanup } = await runs();
    opener.focus();
    press(opener, "ArrowDown");
    press(active(), "ArrowDown");
    const esc = press(active(), "Escape");
    expect(esc.defaultPrevented).toBe(true);
    expect(menu.hidden).toBe(true);
    expect(opener.getAttribute("aria-expanded")).toBe("false");
    expect(active()).toBe(opener);
    expect(model.sent.filter((m) => m.kind === "download")).toHaveLength(0);
    cleanup();
  });

  it("a press outside closes it", async () => {
    const { el, opener, menu, cleanup } = await runs();
    opener.click();
    expect(menu.hidden).toBe(false);
    el.querySelector(".qw-body")?.dispatchEvent(new Event("pointerdown", { bubbles: true }));
    expect(menu.hidden).toBe(true);
    expect(opener.getAttribute("aria-expanded")).toBe("false");
    cleanup();
  });

  it("each item sends the download the old button sent, closes, and focuses the button", async () => {
    const { model, opener, menu, cleanup } = await runs();
    for (const [item, what] of [
      ["qw-export-review", "review"],
      ["qw-picks-sheet", "picks_sheet"],
      ["qw-picks-zip", "picks_zip"],
    ]) {
      opener.click();
      /** @type {HTMLButtonElement} */ (menu.querySelector(`.${item}`)).click();
      expect(model.sent.filter((m) => m.kind === "download").at(-1)).toMatchObject({ what, ids: [] });
      expect(menu.hidden).toBe(true);
      expect(active()).toBe(opener);
    }
    cleanup();
  });

  it("the picks' items say why they do nothing while nothing is picked", async () => {
    const { model, opener, menu, cleanup } = await runs({ marks: {} });
    opener.click();
    const sheet = /** @type {HTMLButtonElement} */ (menu.querySelector(".qw-picks-sheet"));
    expect(sheet.getAttribute("aria-disabled")).toBe("true");
    expect(sheet.title).toContain("press P");
    sheet.click();
    expect(model.sent.filter((m) => m.kind === "download")).toHaveLength(0);
    expect(menu.hidden).toBe(false);
    cleanup();
  });

  it("stays open with its focus when a mark arrives while it is open", async () => {
    const { model, el, opener, cleanup } = await runs({ marks: {} });
    opener.focus();
    press(opener, "ArrowDown");
    press(active(), "ArrowDown");
    model.set("marks", { b: { flag: "pick", stars: 0 } }); // the picks' items become usable
    const again = /** @type {HTMLElement} */ (el.querySelector(".qw-head [role=menu]"));
    expect(again.hidden).toBe(false);
    expect(active().classList.contains("qw-picks-sheet")).toBe(true);
    expect(active().getAttribute("aria-disabled")).toBeNull();
    cleanup();
  });
});

describe("the selection row", () => {
  it("is there only while something is selected, with Compare and a Download menu", async () => {
    const { model, el, cleanup } = await runs();
    const bar = /** @type {HTMLElement} */ (el.querySelector(".qw-selection"));
    expect(bar.hidden).toBe(true);
    model.set("selected_ids", ["a", "b"]);
    expect(bar.hidden).toBe(false);
    expect(bar.querySelector(".qw-selected-count")?.textContent).toBe("2 selected");
    expect(/** @type {HTMLElement} */ (bar.querySelector(".qw-compare-open")).hidden).toBe(false);
    const opener = /** @type {HTMLButtonElement} */ (bar.querySelector(".qw-download-menu"));
    opener.focus();
    press(opener, "ArrowDown");
    press(active(), "ArrowDown");
    expect(active().classList.contains("qw-download-pdf")).toBe(true);
    active().click();
    expect(model.sent.filter((m) => m.kind === "download").at(-1)).toMatchObject({
      what: "pdf",
      ids: ["a", "b"],
    });
    /** @type {HTMLButtonElement} */ (bar.querySelector(".qw-clear")).click();
    expect(bar.hidden).toBe(true);
    cleanup();
  });
});

describe("the toolbar as its traits change", () => {
  it("keeps the focus on the control just used: a size, a filter", async () => {
    const { model, el, cleanup } = await runs({ thumb_size: "medium" });
    const large = /** @type {HTMLButtonElement} */ (el.querySelector(".qw-size-large"));
    large.focus();
    large.click();
    expect(model.state.thumb_size).toBe("large");
    expect(active().classList.contains("qw-size-large")).toBe(true);
    expect(active().getAttribute("aria-pressed")).toBe("true");
    const filter = /** @type {HTMLSelectElement} */ (el.querySelector(".qw-mark-filter"));
    filter.focus();
    filter.value = "picks";
    filter.dispatchEvent(new Event("change"));
    expect(model.state.mark_filter).toBe("picks");
    expect(active().classList.contains("qw-mark-filter")).toBe(true);
    expect(/** @type {HTMLSelectElement} */ (active()).value).toBe("picks");
    cleanup();
  });
});
