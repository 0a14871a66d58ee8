// @vitest-environment node
/// <reference types="node" />
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isToBrowser, KIND, picturesOf, send } from "../shared/protocol.js";

const WIDGETS = fileURLToPath(new URL("../../qamera_widgets/widgets", import.meta.url));
const python = readdirSync(WIDGETS)
  .filter((name) => name.endsWith(".py"))
  .map((name) => readFileSync(join(WIDGETS, name), "utf8"))
  .join("\n");

describe("the protocol", () => {
  it("names every kind as the Python side spells it", () => {
    for (const kind of Object.values(KIND)) expect(python).toContain(`"${kind}"`);
  });

  it("reads pictures from the `pictures` field of thumbs and patch, paired with the buffers", () => {
    const a = new ArrayBuffer(1);
    const b = new ArrayBuffer(2);
    const got = picturesOf(
      {
        kind: "thumbs",
        pictures: [
          { id: "x", v: 1 },
          { id: "y", v: 2, fmt: "png" },
        ],
      },
      [a, b],
    );
    expect(got).toEqual([
      { ref: { id: "x", v: 1 }, data: a },
      { ref: { id: "y", v: 2, fmt: "png" }, data: b },
    ]);
    expect(picturesOf({ kind: "patch", cards: [], pictures: [{ id: "x", v: 1 }] }, [a])).toHaveLength(1);
  });

  it("ignores the old field names and pictures without a buffer", () => {
    const old = /** @type {any} */ ({ kind: "thumbs", items: [{ id: "x", v: 1 }] });
    expect(picturesOf(old, [new ArrayBuffer(1)])).toEqual([]);
    const oldPatch = /** @type {any} */ ({ kind: "patch", thumbs: [{ id: "x", v: 1 }] });
    expect(picturesOf(oldPatch, [new ArrayBuffer(1)])).toEqual([]);
    expect(picturesOf({ kind: "thumbs", pictures: [{ id: "x", v: 1 }] }, [])).toEqual([]);
  });

  it("accepts only the kinds Python sends to the browser", () => {
    expect(isToBrowser({ kind: "patch" })).toBe(true);
    expect(isToBrowser({ kind: "want" })).toBe(false);
    expect(isToBrowser(null)).toBe(false);
    expect(isToBrowser("thumbs")).toBe(false);
  });

  it("builds the browser's messages with the fields Python reads", () => {
    expect(send.want(["a"], null)).toEqual({ kind: "want", ids: ["a"], preview: null });
    expect(send.download("zip", ["a"])).toEqual({ kind: "download", what: "zip", ids: ["a"] });
    expect(send.generate("p", 3)).toEqual({ kind: "generate", prompt: "p", count: 3 });
    expect(send.toggleRun("k")).toEqual({ kind: "toggle_run", key: "k" });
  });
});
