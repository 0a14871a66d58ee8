// Ephemeral UI state that never syncs with Python (lonboard's src/state/store.ts): where a Shift+click
// ranges from, what is open (the keys panel, the pictures compared), the large view's zoom and modes,
// and the marks drawn ahead of Python's answer. The synced state stays in the model's traits; the
// keyboard focus stays in the page (cards are never made again, and keyed.js's moves keep it).
// Subscribers listen to one key, so a change repaints only what shows that key.

/** @typedef {import("./marks.js").Mark} Mark */
/** @typedef {import("../large/zoom.js").View} View */

/**
 * A mark drawn ahead of Python's answer.
 * @typedef {object} PendingMark
 * @property {Mark} mark what the card shows until Python answers
 * @property {number} seq which of this view's `mark` messages set it (1, 2, ...)
 */

/**
 * Where the large view's picture is: the stage writes it as a person zooms, pans or drags the slider,
 * and applies it itself (nothing else redraws on it).
 * @typedef {object} Zoom
 * @property {View | null} view null: fit
 * @property {string} key which pictures the view belongs to (other pictures start fitted)
 * @property {number} divider the slider's position, 0-1 of the pane's width
 */

/**
 * How the large view shows its picture: the overlay draws again when one changes.
 * @typedef {object} Modes
 * @property {boolean} tiled
 * @property {boolean} slider two compared pictures under one divider
 * @property {boolean} productOn
 * @property {number} productScale the cutout's width as a share of the picture's
 */

/**
 * @typedef {object} UiState
 * @property {string} anchor the card a Shift+click selects from ("" before any tick)
 * @property {string} help the card the keys panel gives the focus back to ("" while it is closed)
 * @property {string[]} compared the 2-4 pictures side by side, while the open one is among them
 * @property {Zoom} zoom
 * @property {Modes} modes
 * @property {boolean} advance a mark in the large view moves on to the next picture
 * @property {ReadonlyMap<string, PendingMark>} pending marks drawn ahead, by picture id
 */

/**
 * A few named values; each change tells the subscribers of that name only.
 * @template {object} S
 */
export class Store {
  /** @param {S} initial */
  constructor(initial) {
    /** @type {S} */
    this.state = { ...initial };
    /** @type {Map<keyof S, Set<(value: any, old: any) => void>>} */
    this.listeners = new Map();
  }

  /**
   * @template {keyof S} K
   * @param {K} key
   * @returns {S[K]}
   */
  get(key) {
    return this.state[key];
  }

  /**
   * Sets `key` and tells its subscribers, unless the value is the same one.
   * @template {keyof S} K
   * @param {K} key
   * @param {S[K]} value
   */
  set(key, value) {
    const old = this.state[key];
    if (Object.is(old, value)) return;
    this.state[key] = value;
    for (const listener of [...(this.listeners.get(key) || [])]) listener(value, old);
  }

  /**
   * @template {keyof S} K
   * @param {K} key
   * @param {(value: S[K]) => S[K]} change
   */
  update(key, change) {
    this.set(key, change(this.state[key]));
  }

  /**
   * @template {keyof S} K
   * @param {K} key
   * @param {(value: S[K], old: S[K]) => void} listener
   * @returns {() => void} unsubscribes
   */
  subscribe(key, listener) {
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  dispose() {
    this.listeners.clear();
  }
}

/** A canvas view's UI state as it opens: nothing focused, open or marked ahead; the large view fits. */
export function createUiStore() {
  return new Store(
    /** @type {UiState} */ ({
      anchor: "",
      help: "",
      compared: [],
      zoom: { view: null, key: "", divider: 0.5 },
      modes: { tiled: false, slider: false, productOn: true, productScale: 0.4 },
      advance: true,
      pending: new Map(),
    }),
  );
}

/** @typedef {Store<UiState>} UiStore */
