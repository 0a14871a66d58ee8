// Children kept by identity: a list that changes reuses the elements still in it and removes, inserts
// and moves only what changed (the keyed update of React or Inferno, without a virtual DOM).

/**
 * Which positions of `seq` can stay: the longest increasing run of its non-negative values (the elements
 * already in order), as indices into `seq`. -1 marks a new element (it never stays). Pure, for tests.
 * @param {number[]} seq the current index of each wanted element, in the wanted order
 * @returns {Set<number>}
 */
export function staying(seq) {
  /** @type {number[]} indices into seq: the smallest tail of a run of each length */
  const tails = [];
  /** @type {number[]} */
  const before = new Array(seq.length).fill(-1);
  seq.forEach((value, i) => {
    if (value < 0) return;
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (seq[tails[mid]] < value) low = mid + 1;
      else high = mid;
    }
    if (low > 0) before[i] = tails[low - 1];
    tails[low] = i;
  });
  /** @type {Set<number>} */
  const keep = new Set();
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = before[i]) keep.add(i);
  return keep;
}

/**
 * Runs `fn`, which may move elements under `root`, and gives the focus back to the element that had it
 * when a move dropped it (the browser blurs an element taken out of the page, even to put it back).
 * @template T
 * @param {Element} root
 * @param {() => T} fn
 * @returns {T}
 */
export function keepFocus(root, fn) {
  const page = /** @type {Document | ShadowRoot} */ (root.getRootNode());
  const focused = page.activeElement;
  const result = fn();
  if (focused instanceof HTMLElement && focused !== page.activeElement && root.contains(focused))
    focused.focus({ preventScroll: true });
  return result;
}

/**
 * Makes `parent`'s children exactly `nodes`, in this order: removes the others, inserts the new ones
 * and moves only those out of order. A moved element that had the focus keeps it.
 * @param {Element} parent
 * @param {Element[]} nodes
 */
export function placeChildren(parent, nodes) {
  const wanted = new Set(nodes);
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
  const index = new Map([...parent.children].map((child, i) => [child, i]));
  const keep = staying(nodes.map((node) => index.get(node) ?? -1));
  keepFocus(parent, () => {
    /** @type {Element | null} */
    let next = null;
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (!keep.has(i)) parent.insertBefore(nodes[i], next);
      next = nodes[i];
    }
  });
}

/**
 * A parent's children drawn in parts, each part named by a key that says what it shows: a part whose key
 * is unchanged keeps its elements, a new key draws its part, a key gone removes it.
 * @typedef {{key: string, draw: () => Element[]}} Part
 */
export class KeyedParts {
  /** @param {Element} parent */
  constructor(parent) {
    this.parent = parent;
    /** @type {Map<string, Element[]>} */
    this.drawn = new Map();
  }

  /** @param {Part[]} parts */
  show(parts) {
    /** @type {Map<string, Element[]>} */
    const next = new Map();
    for (const part of parts)
      next.set(part.key, next.get(part.key) || this.drawn.get(part.key) || part.draw());
    this.drawn = next;
    placeChildren(this.parent, [...next.values()].flat());
  }
}
