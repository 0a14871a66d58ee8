import { describe, expect, it, vi } from "vitest";
import { ranged, selectionLabel } from "../grid/selection.js";
import { changedIds, createMarks, intentOf, markBadge, markTargets, normalizeKey } from "../shared/marks.js";
import { createUiStore } from "../shared/store.js";

// The shape of engine.review.keymap_table(): a few rows, as Python sends them.
const KEYMAP = [
  { keys: ["p"], intent: "pick", contexts: ["grid", "large"] },
  { keys: ["x", "Delete"], intent: "reject", contexts: ["grid", "large"] },
  { keys: ["3"], intent: "stars", contexts: ["grid", "large"], stars: 3 },
  { keys: ["Space"], intent: "toggle_select", contexts: ["grid", "large"] },
  { keys: ["z"], intent: "zoom_toggle", contexts: ["large"] },
];

describe("review keys", () => {
  it("names keys as Python does", () => {
    expect(normalizeKey("P")).toBe("p");
    expect(normalizeKey("Digit3")).toBe("3");
    expect(normalizeKey(" ")).toBe("Space");
  });

  it("maps keys through Python's table, per context, with Shift inverting auto-advance", () => {
    expect(intentOf(KEYMAP, { key: "P" }, "grid")).toEqual({
      name: "pick",
      stars: undefined,
      advance: false,
    });
    expect(intentOf(KEYMAP, { key: "p" }, "large")?.advance).toBe(true);
    expect(intentOf(KEYMAP, { key: "p", shiftKey: true }, "large")?.advance).toBe(false);
    expect(intentOf(KEYMAP, { key: "3" }, "grid", true)).toEqual({ name: "stars", stars: 3, advance: true });
    expect(intentOf(KEYMAP, { key: "z" }, "grid")).toBeNull();
    expect(intentOf(KEYMAP, { key: "p", ctrlKey: true }, "grid")).toBeNull();
  });

  it("marks the selection when the focused card is in it, else the focused card", () => {
    expect(markTargets("b", ["a", "b"])).toEqual(["a", "b"]);
    expect(markTargets("c", ["a", "b"])).toEqual(["c"]);
    expect(markTargets("", ["a"])).toEqual([]);
  });

  it("draws a mark ahead of Python and drops it when Python answers", () => {
    /** @type {Record<string, any>} */
    const state = { marks: {}, keymap: KEYMAP };
    const t = { get: (/** @type {string} */ name, /** @type {any} */ fb) => state[name] ?? fb, set: vi.fn() };
    const sent = vi.fn();
    const redraw = vi.fn();
    const store = createUiStore();
    store.subscribe("pending", (now, before) => redraw(changedIds(before, now)));
    const marks = createMarks(store, /** @type {any} */ (t), sent);
    const event = new KeyboardEvent("keydown", { key: "x", cancelable: true });
    const intent = marks.handleReviewKey(event, { context: "grid", focusedId: "a", selectedIds: [] });
    expect(intent?.name).toBe("reject");
    expect(event.defaultPrevented).toBe(true);
    expect(sent).toHaveBeenCalledWith({ kind: "mark", ids: ["a"], flag: "reject", stars: null });
    expect(marks.get("a")).toEqual({ flag: "reject", stars: 0 });
    expect(redraw).toHaveBeenCalledWith(["a"]);
    marks.settle(); // Python refused it: `marks` still says nothing about "a"
    expect(marks.get("a")).toEqual({ flag: "", stars: 0 });
  });
});

describe("the mark on a card", () => {
  it("says the flag and the stars, and nothing for an unmarked picture", () => {
    expect(markBadge({ flag: "", stars: 0 })).toBeNull();
    const badge = markBadge({ flag: "pick", stars: 2 });
    expect(badge?.classList.contains("qw-mark-pick")).toBe(true);
    expect(badge?.textContent).toBe("✓ Pick★★");
    expect(badge?.title).toBe("Your mark: Picked, 2 stars");
  });
});

describe("the selection", () => {
  it("Shift+click selects the range between two cards", () => {
    expect(ranged(["a"], ["a", "b", "c", "d"], "a", "c", true)).toEqual(["a", "b", "c"]);
    expect(ranged(["a", "b", "c"], ["a", "b", "c"], "c", "a", false)).toEqual([]);
    expect(ranged([], ["a", "b"], "gone", "b", true)).toEqual(["b"]);
  });

  it("says how many of the selected are out of sight", () => {
    expect(selectionLabel([], new Set())).toBe("Nothing selected");
    expect(selectionLabel(["a", "b"], new Set(["a", "b"]))).toBe("2 selected");
    expect(selectionLabel(["a", "b"], new Set(["a"]))).toContain("1 not in sight");
  });
});
