import { afterEach, describe, expect, it, vi } from "vitest";
import canvas from "../canvas.js";
import { FollowNewRun } from "../grid/follow.js";
import { fakeModel, mount } from "./fake-model.js";

afterEach(() => {
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

const run = (/** @type {string} */ key) => ({ key, prompt: key, ids: [] });

describe("a new run stays in view", () => {
  it("follows the first new run once after a click, never after the person scrolled", () => {
    const follow = new FollowNewRun([run("old")]);
    expect(follow.follow([run("a"), run("old")])).toBeNull(); // no click: a run from elsewhere
    follow.clicked();
    expect(follow.follow([run("b"), run("a"), run("old")])).toBe("b");
    expect(follow.follow([run("b"), run("a"), run("old")])).toBeNull(); // once
    follow.clicked();
    follow.scrolled();
    expect(follow.follow([run("c"), run("b")])).toBeNull();
  });

  it("scrolls the new run's section into view after Generate is clicked", async () => {
    const scrolled = vi.fn();
    Element.prototype.scrollIntoView = scrolled;
    // jsdom lays nothing out: every box is at 0, so say the new run is below the fold.
    vi.spyOn(Element.prototype, "getBoundingClientRect").mockReturnValue(
      /** @type {DOMRect} */ ({ top: 2000, bottom: 2300, height: 300 }),
    );
    const form = document.createElement("div");
    form.className = "qw-form";
    const generate = document.createElement("button");
    form.append(generate);
    document.body.append(form);
    const model = fakeModel({ mode: "runs", runs: [run("old")], cards: [], preview: {} });
    const { cleanup } = await mount(canvas, model);
    generate.click();
    model.set("runs", [run("pending-1"), run("old")]);
    expect(scrolled).toHaveBeenCalledTimes(1);
    expect(/** @type {HTMLElement} */ (scrolled.mock.contexts[0]).dataset.key).toBe("pending-1");
    document.dispatchEvent(new Event("wheel"));
    generate.click();
    document.dispatchEvent(new Event("wheel"));
    model.set("runs", [run("pending-2"), run("pending-1"), run("old")]);
    expect(scrolled).toHaveBeenCalledTimes(1);
    cleanup();
  });
});
