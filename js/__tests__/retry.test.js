import { afterEach, describe, expect, it } from "vitest";
import canvas from "../canvas.js";
import { comparisonOf } from "../large/compare.js";
import { card, fakeModel, mount } from "./fake-model.js";

/** @typedef {import("../shared/types.js").Run} Run */

afterEach(() => document.body.replaceChildren());

/** @param {object} retry @param {object[]} [retries] */
const run = (retry, retries = []) => ({
  key: "run-1",
  prompt: "oak table",
  ids: ["a", "b"],
  total: 2,
  done: 1,
  failed: 1,
  retry: { count: 1, question: "", note: "", note_kind: "", ...retry },
  retries,
});

describe("Retry N failed", () => {
  it("asks beside its button, puts the focus on Yes, and Escape cancels", async () => {
    const cards = [card({ id: "a" }), card({ id: "b", state: "failed" })];
    const model = fakeModel({ mode: "runs", runs: [run({})], cards, preview: {} });
    const { el, cleanup } = await mount(canvas, model);
    const retry = /** @type {HTMLButtonElement} */ (el.querySelector(".qw-run-retry"));
    expect(retry.textContent).toBe("Retry 1 failed");
    retry.focus();
    retry.click();
    expect(model.sent.at(-1)).toEqual({ kind: "retry_failed", key: "run-1" });
    model.set("runs", [
      run({ question: "Retry 1 failed picture of “oak table”? 10 credits will be reserved." }),
    ]);
    const yes = el.querySelector(".qw-retry-yes");
    expect(el.querySelector(".qw-retry-question")?.textContent).toContain("10 credits will be reserved.");
    expect(document.activeElement).toBe(yes);
    yes?.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(model.sent.at(-1)).toEqual({ kind: "retry_failed", key: "run-1", yes: false });
    /** @type {HTMLElement} */ (yes).click();
    expect(model.sent.at(-1)).toEqual({ kind: "retry_failed", key: "run-1", yes: true });
    cleanup();
  });

  it("draws each retry inside its run, with its cards, and a refusal beside the button", async () => {
    const cards = ["a", "b", "c"].map((id) => card({ id }));
    const line = {
      key: "retry-1",
      text: "Retry · 1 picture · 12:03:04",
      progress: "1 of 1 done",
      ids: ["c"],
    };
    const refused = { count: 1, note: "Not enough credits.", note_kind: "error" };
    const model = fakeModel({ mode: "runs", runs: [run(refused, [line])], cards, preview: {} });
    const { el, cleanup } = await mount(canvas, model);
    const section = el.querySelectorAll(".qw-run");
    expect(section.length).toBe(1);
    expect(section[0].querySelector(".qw-run-retry-line")?.textContent).toContain("Retry · 1 picture");
    expect(section[0].querySelectorAll(".qw-run-retry-part .qw-card").length).toBe(1);
    expect(el.querySelector(".qw-run-retry-note.qw-error")?.textContent).toBe("Not enough credits.");
    cleanup();
  });

  it("offers a retry in a comparison's cell, asks there, Escape cancels, draws the retry in the cell", async () => {
    const words = [
      ["oak", 0, 0],
      ["oak", 0, 1],
      ["marble", 1, 0],
      ["marble", 1, 1],
    ];
    /** @param {object} [asked] @param {object[]} [retries] */
    const comparison = (asked = {}, retries = []) => ({
      key: "cmp-1",
      kind: "compare",
      prompt: "{oak|marble} table, {warm|cool} light",
      ids: ["r0", "r1", "r2", "r3", "c"],
      axes: [
        { label: "{oak|marble}", values: ["oak", "marble"] },
        { label: "{warm|cool}", values: ["warm", "cool"] },
      ],
      rows: words.map(([material, r, c], n) => ({
        key: `row-${n}`,
        prompt: `${material} table, ${c ? "cool" : "warm"} light`,
        ids: [`r${n}`],
        progress: "1 of 1 done",
        credits: "",
        cell: [r, c],
        retry: { count: n === 2 ? 1 : 0, question: "", note: "", note_kind: "", ...(n === 2 ? asked : {}) },
        retries: n === 2 ? retries : [],
      })),
    });
    const cards = ["r0", "r1", "r2", "r3", "c"].map((id) =>
      card({ id, state: id === "r2" ? "failed" : "done" }),
    );
    const model = fakeModel({ mode: "runs", runs: [comparison()], cards, preview: {} });
    const { el, cleanup } = await mount(canvas, model);
    const buttons = el.querySelectorAll(".qw-matrix-cell .qw-run-retry");
    expect(buttons.length).toBe(1);
    const cell = /** @type {HTMLElement} */ (buttons[0].closest(".qw-matrix-cell"));
    expect(cell.dataset.key).toBe("row-2");
    expect(buttons[0].textContent).toBe("Retry 1 failed");
    /** @type {HTMLElement} */ (buttons[0]).focus();
    /** @type {HTMLElement} */ (buttons[0]).click();
    expect(model.sent.at(-1)).toEqual({ kind: "retry_failed", key: "row-2" });
    const question = "Retry 1 failed picture of “marble table, warm light”? 10 credits will be reserved.";
    model.set("runs", [comparison({ question })]);
    const asking = el.querySelector('.qw-matrix-cell[data-key="row-2"] .qw-retry-question');
    expect(asking?.textContent).toContain(question);
    expect(document.activeElement).toBe(asking?.querySelector(".qw-retry-yes"));
    asking?.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(model.sent.at(-1)).toEqual({ kind: "retry_failed", key: "row-2", yes: false });
    const line = {
      key: "retry-1",
      text: "Retry · 1 picture · 12:03:04",
      progress: "1 of 1 done",
      ids: ["c"],
    };
    model.set("runs", [comparison({ count: 0 }, [line])]);
    const retried = /** @type {HTMLElement} */ (el.querySelector('.qw-matrix-cell[data-key="row-2"]'));
    const drawn = [...retried.querySelectorAll(".qw-card")].map(
      (n) => /** @type {HTMLElement} */ (n).dataset.id,
    );
    expect(drawn).toEqual(["r2", "c"]);
    expect(retried.querySelector(".qw-run-retry-line")?.textContent).toContain("Retry · 1 picture");
    expect(el.querySelectorAll(".qw-run-retry").length).toBe(0);
    // The large view places the retry's picture in its cell, after the cell's own.
    const where = comparisonOf(
      /** @type {Run[]} */ (/** @type {unknown} */ ([comparison({ count: 0 }, [line])])),
      "c",
    );
    expect([where?.cell, where?.index, where?.total]).toEqual(["marble table, warm light", 4, 5]);
    cleanup();
  });
});
