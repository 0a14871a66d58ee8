import { afterEach, describe, expect, it } from "vitest";
import { drawComparison, matrixPlan } from "../runs/comparison.js";

/** @param {string} key @param {number[]} cell */
const row = (key, cell) => ({
  key,
  prompt: key,
  ids: [`${key}-1`],
  cell,
  progress: "1 of 1 done",
  credits: "",
});
const material = { label: "{oak|marble}", values: ["oak", "marble"] };
const light = { label: "{warm|cold|soft}", values: ["warm", "cold", "soft"] };
const time = { label: "{day|night}", values: ["day", "night"] };

afterEach(() => {
  document.body.replaceChildren();
});

describe("placing a comparison as a matrix", () => {
  it("two slots: rows are the first slot's words, columns the second's", () => {
    const rows = [row("a", [0, 0]), row("b", [0, 1]), row("c", [0, 2]), row("d", [1, 0]), row("e", [1, 1])];
    const plan = matrixPlan([material, light], rows);
    expect(plan).toEqual([
      {
        label: "",
        rows: ["oak", "marble"],
        columns: ["warm", "cold", "soft"],
        cells: [
          [0, 1, 2],
          [3, 4, null],
        ],
      },
    ]);
  });

  it("one slot: one row of columns", () => {
    const plan = matrixPlan([light], [row("a", [0]), row("b", [1]), row("c", [2])]);
    expect(plan).toEqual([{ label: "", rows: [""], columns: ["warm", "cold", "soft"], cells: [[0, 1, 2]] }]);
  });

  it("three slots: a matrix of the first two per word of the third, labelled", () => {
    const rows = [];
    for (let t = 0; t < 2; t++)
      for (let m = 0; m < 2; m++) for (let l = 0; l < 3; l++) rows.push(row(`${m}${l}${t}`, [m, l, t]));
    const plan = matrixPlan([material, light, time], rows);
    expect(plan?.map((g) => g.label)).toEqual(["day", "night"]);
    expect(plan?.[1].cells).toEqual([
      [6, 7, 8],
      [9, 10, 11],
    ]);
  });

  it("nothing to place without axes or with a row lacking its cell", () => {
    expect(matrixPlan([], [row("a", [])])).toBeNull();
    expect(matrixPlan([material], [{ key: "x", prompt: "x" }])).toBeNull();
  });
});

describe("drawing a comparison", () => {
  /** @param {string[]} ids */
  const grid = (ids) => {
    const node = document.createElement("div");
    node.className = "qw-grid";
    node.dataset.ids = ids.join(",");
    return node;
  };

  it("draws the words as axis labels and each prompt's pictures in its cell", () => {
    const rows = [row("a", [0, 0]), row("b", [0, 1]), row("c", [1, 0]), row("d", [1, 1])];
    const [matrix] = drawComparison(
      { rows, axes: [material, { label: "", values: ["warm", "cold"] }] },
      grid,
    );
    document.body.append(matrix);
    const text = (/** @type {string} */ sel) => [...matrix.querySelectorAll(sel)].map((n) => n.textContent);
    expect(text(".qw-col-label")).toEqual(["warm", "cold"]);
    expect(text(".qw-row-axis")).toEqual(["oak", "marble"]);
    const cells = [...matrix.querySelectorAll(".qw-matrix-cell")];
    expect(cells.map((c) => /** @type {HTMLElement} */ (c.querySelector(".qw-grid")).dataset.ids)).toEqual([
      "a-1",
      "b-1",
      "c-1",
      "d-1",
    ]);
    expect(cells[3].querySelector(".qw-cell-words")?.textContent).toBe("marble × cold");
    expect(matrix.style.getPropertyValue("--qw-cols")).toBe("2");
  });

  it("falls back to a list of rows when the runs share no slots", () => {
    const nodes = drawComparison(
      {
        rows: [
          { key: "a", prompt: "oak" },
          { key: "b", prompt: "tile" },
        ],
      },
      grid,
    );
    expect(nodes.map((n) => n.className)).toEqual(["qw-compare-row", "qw-compare-row"]);
  });
});
