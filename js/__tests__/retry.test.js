import { afterEach, describe, expect, it } from "vitest";
import canvas from "../canvas.js";
import { card, fakeModel, mount } from "./fake-model.js";

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
});
