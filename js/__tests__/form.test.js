import { afterEach, describe, expect, it } from "vitest";
import form from "../form.js";
import { fakeModel, mount } from "./fake-model.js";

afterEach(() => {
  document.body.replaceChildren();
});

/** The traits a PromptForm syncs, with limits unlike the contract's so a typed-in number would show. */
const traitsOf = (/** @type {Record<string, any>} */ extra = {}) => ({
  prompt: "",
  count: 3,
  min_count: 2,
  max_count: 5,
  max_prompt_chars: 12,
  price_per_picture: 7,
  submitting: false,
  can_retry: false,
  history: [
    { label: "first", prompt: "first prompt", count: 2 },
    { label: "second", prompt: "second prompt", count: 3 },
  ],
  variants: [],
  cost: "3 pictures · 21 credits",
  status: "",
  status_kind: "info",
  ...extra,
});

/** @param {HTMLElement} el @param {string} selector */
const q = (el, selector) => /** @type {any} */ (el.querySelector(selector));

describe("the prompt form", () => {
  it("takes the count range, prompt length and price from the traits", async () => {
    const model = fakeModel(traitsOf());
    const { el, cleanup } = await mount(form, model);
    const count = q(el, ".qw-count-input");
    expect([count.min, count.max]).toEqual(["2", "5"]);
    expect(count.getAttribute("aria-label")).toBe("How many pictures (2 to 5)");
    expect(count.title).toBe("Each picture costs 7 credits");
    const box = q(el, ".qw-prompt-box");
    box.value = "a prompt longer than twelve";
    box.dispatchEvent(new Event("input"));
    expect(q(el, ".qw-counter").textContent).toBe("27 / 12");
    expect(q(el, ".qw-counter").classList.contains("qw-over")).toBe(true);
    count.value = "9";
    count.dispatchEvent(new Event("change"));
    expect(model.state.count).toBe(5);
    count.value = "0";
    count.dispatchEvent(new Event("change"));
    expect(model.state.count).toBe(2);
    cleanup();
  });

  it("redraws only the part a trait change affects", async () => {
    const model = fakeModel(traitsOf({ confirm: "Spend 21 credits?" }));
    const { el, cleanup } = await mount(form, model);
    const option = q(el, ".qw-history option[value='1']");
    const yes = q(el, ".qw-confirm-yes");
    const box = q(el, ".qw-prompt-box");
    box.focus(); // the person moved on from the question to the prompt
    model.set("status", "Sent.");
    model.set("cost", "4 pictures · 28 credits");
    expect(q(el, ".qw-form-status").textContent).toBe("Sent.");
    expect(q(el, ".qw-cost").textContent).toBe("4 pictures · 28 credits");
    expect(q(el, ".qw-history option[value='1']")).toBe(option);
    expect(q(el, ".qw-confirm-yes")).toBe(yes);
    expect(document.activeElement).toBe(box);
    model.set("history", [{ label: "third", prompt: "third prompt" }]);
    expect(q(el, ".qw-history").options).toHaveLength(2);
    expect(q(el, ".qw-history option[value='0']").textContent).toBe("third");
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });

  it("disables Generate from the click until Python answers, and sends what is on screen", async () => {
    const model = fakeModel(traitsOf());
    const { el, cleanup } = await mount(form, model);
    const box = q(el, ".qw-prompt-box");
    box.value = "marble";
    const generate = q(el, ".qw-generate");
    generate.click();
    expect(model.sent.at(-1)).toEqual({ kind: "generate", prompt: "marble", count: 3 });
    expect(generate.disabled).toBe(true);
    model.set("prompt_error", "Too short."); // a refusal is an answer too
    expect(generate.disabled).toBe(false);
    model.set("submitting", true);
    expect([generate.disabled, generate.textContent]).toEqual([true, "Submitting…"]);
    cleanup();
  });
});
