import { afterEach, describe, expect, it } from "vitest";
import { placeChildren, staying } from "../shared/keyed.js";

afterEach(() => {
  document.body.replaceChildren();
});

describe("which children stay where they are", () => {
  it("keeps the longest run already in order and moves the rest", () => {
    expect(staying([0, 1, 2, 3])).toEqual(new Set([0, 1, 2, 3]));
    expect(staying([3, 0, 1, 2])).toEqual(new Set([1, 2, 3])); // the last one went first: it alone moves
    expect(staying([1, 2, 3, 0])).toEqual(new Set([0, 1, 2]));
    expect(staying([-1, 0, -1, 1])).toEqual(new Set([1, 3])); // new ones never stay
    expect(staying([])).toEqual(new Set());
  });
});

describe("placing children by identity", () => {
  it("reorders, inserts and removes, keeping the elements and the focus", () => {
    const parent = document.createElement("div");
    document.body.append(parent);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => {
      const node = document.createElement("button");
      node.id = id;
      return node;
    });
    placeChildren(parent, [a, b, c]);
    a.focus();
    placeChildren(parent, [b, c, d, a]);
    expect([...parent.children].map((n) => n.id)).toEqual(["b", "c", "d", "a"]);
    expect(document.activeElement).toBe(a);
    placeChildren(parent, [d, a]);
    expect([...parent.children]).toEqual([d, a]);
  });
});
