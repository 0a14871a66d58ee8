// @vitest-environment node
// The drawing math runs without any DOM: this file has none.
import { describe, expect, it } from "vitest";
import { counterText, elapsed, progressBar, snapCount, stepId, voteOf } from "../shared/format.js";

describe("format", () => {
  it("words elapsed time in seconds, then minutes with padded seconds", () => {
    expect(elapsed(0, 42_900)).toBe("42 s");
    expect(elapsed(0, 187_000)).toBe("3 min 07 s");
    expect(elapsed(10_000, 0)).toBe("0 s");
  });

  it("splits a run's progress bar into done and failed shares of the total", () => {
    expect(progressBar({ total: 4, done: 1, failed: 2 })).toEqual({
      total: 4,
      now: 3,
      donePct: 25,
      failedPct: 50,
    });
    expect(progressBar({})).toEqual({ total: 1, now: 0, donePct: 0, failedPct: 0 });
  });

  it("steps through ids with wrap-around and refuses an id that is not there", () => {
    expect(stepId(["a", "b", "c"], "c", 1)).toBe("a");
    expect(stepId(["a", "b", "c"], "a", -1)).toBe("c");
    expect(stepId(["a"], "x", 1)).toBeNull();
  });

  it("snaps a typed count to a whole number inside the limits it is given", () => {
    expect(snapCount(2.6, 10, 1, 20)).toBe(3);
    expect(snapCount(99, 10, 1, 20)).toBe(20);
    expect(snapCount(-4, 10, 1, 20)).toBe(1);
    expect(snapCount(Number.NaN, 7, 1, 20)).toBe(7);
    expect(snapCount(9, 3, 2, 5)).toBe(5);
  });

  it("flags a prompt over its limit and draws an unknown vote as not reviewed", () => {
    expect(counterText(12, 10)).toEqual({ text: "12 / 10", over: true });
    expect(counterText(10, 10).over).toBe(false);
    expect(voteOf("approved")[1]).toBe("Approved");
    expect(voteOf("weird")[1]).toBe("Not reviewed");
  });
});
