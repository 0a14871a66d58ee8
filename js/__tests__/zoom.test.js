import { describe, expect, it } from "vitest";
import { canCompare, cellLabel, comparisonOf, neighbours, stepOrder } from "../large/compare.js";
import { productBox } from "../large/stage.js";
import {
  clampPan,
  fitScale,
  fitView,
  MAX_SCALE,
  panBy,
  toggleFull,
  wantedPx,
  zoomAt,
} from "../large/zoom.js";
import { marbleOakRun } from "./fake-model.js";

const pic = { w: 768, h: 768 };
const box = { w: 1600, h: 1000 };

describe("zoom and pan", () => {
  it("fits a small original to the space there is, centred", () => {
    expect(fitScale(pic, box)).toBeCloseTo(1000 / 768);
    const v = fitView(pic, box);
    expect(v.y).toBeCloseTo(0);
    expect(v.x).toBeCloseTo((1600 - 1000) / 2);
  });

  it("zooms at the pointer: the picture point under it stays put", () => {
    const v = fitView(pic, box);
    const at = { x: 700, y: 300 };
    const before = { x: (at.x - v.x) / v.scale, y: (at.y - v.y) / v.scale };
    const z = zoomAt(v, 2, at, pic, box);
    expect(z.scale).toBeCloseTo(v.scale * 2);
    expect((at.x - z.x) / z.scale).toBeCloseTo(before.x);
    expect((at.y - z.y) / z.scale).toBeCloseTo(before.y);
  });

  it("never zooms past its limits", () => {
    let v = fitView(pic, box);
    for (let i = 0; i < 100; i += 1) v = zoomAt(v, 2, { x: 0, y: 0 }, pic, box);
    expect(v.scale).toBe(MAX_SCALE);
  });

  it("pans within the picture: no empty band once it is larger than the box", () => {
    const v = zoomAt(fitView(pic, box), 4, { x: 800, y: 500 }, pic, box);
    const far = panBy(v, 10000, 10000, pic, box);
    expect(far.x).toBe(0);
    expect(far.y).toBe(0);
    const other = panBy(v, -10000, -10000, pic, box);
    expect(other.x).toBeCloseTo(box.w - pic.w * v.scale);
    expect(other.y).toBeCloseTo(box.h - pic.h * v.scale);
  });

  it("keeps a picture smaller than the box centred whatever the drag", () => {
    const small = clampPan({ scale: 0.5, x: 999, y: -999 }, pic, box);
    expect(small.x).toBeCloseTo((1600 - 384) / 2);
    expect(small.y).toBeCloseTo((1000 - 384) / 2);
  });

  it("Z goes to 100 % at the pointer and back to fit", () => {
    const fit = fitView(pic, box);
    const full = toggleFull(fit, { x: 800, y: 500 }, pic, box);
    expect(full.scale).toBe(1);
    expect(toggleFull(full, { x: 0, y: 0 }, pic, box)).toEqual(fit);
  });

  it("asks for pictures at the device pixels shown, in steps of 256", () => {
    expect(wantedPx({ w: 2000, h: 1100 }, 1)).toBe(2048);
    expect(wantedPx({ w: 700, h: 600 }, 2)).toBe(1536);
    expect(wantedPx({ w: 10, h: 10 }, 1)).toBe(256);
  });
});

describe("product and comparisons", () => {
  it("places the product at the bottom centre at its share of the width", () => {
    const b = productBox({ w: 1000, h: 800 }, { w: 200, h: 100 }, 0.4);
    expect(b).toEqual({ left: 300, top: 600, w: 400, h: 200 });
  });

  /** @type {import("../shared/types.js").Run[]} */
  const runs = [marbleOakRun({ key: "r" })];

  it("says a comparison picture's template, cell and place", () => {
    expect(comparisonOf(runs, "c")).toEqual({
      template: "{marble|oak} counter, {warm|cold} light",
      cell: "oak × cold",
      index: 3,
      total: 4,
      ids: ["a", "b", "c", "d"],
    });
    expect(comparisonOf(runs, "z")).toBeNull();
    expect(cellLabel({ key: "x", prompt: "plain" })).toBe("plain");
  });

  it("steps within the comparison, and prefetches the next and previous", () => {
    expect(stepOrder(runs, ["x", "a", "y"], "a")).toEqual(["a", "b", "c", "d"]);
    expect(stepOrder(runs, ["x", "y"], "x")).toEqual(["x", "y"]);
    expect(neighbours(["a", "b", "c"], "b")).toEqual(["c", "a"]);
    expect(neighbours(["a", "b", "c"], "c")).toEqual(["b"]);
    expect([1, 2, 4, 5].map(canCompare)).toEqual([false, true, true, false]);
  });
});
