// A stand-in for an anywidget model: traits in a plain object, change events fired on set, and the
// messages a view sends kept in `sent`.

/**
 * @param {Record<string, any>} state
 */
export function fakeModel(state) {
  /** @type {Map<string, Set<(...args: any[]) => void>>} */
  const handlers = new Map();
  /** @type {any[]} */
  const sent = [];
  /** @type {ArrayBuffer[][]} */
  const sentBuffers = [];
  /** @param {string} event @param {...any} args */
  const trigger = (event, ...args) => {
    for (const handler of [...(handlers.get(event) || [])]) handler(...args);
  };
  const model = {
    state,
    sent,
    trigger,
    /** @param {string} name */
    get: (name) => state[name],
    /** @param {string} name @param {any} value */
    set(name, value) {
      state[name] = value;
      trigger(`change:${name}`);
    },
    save_changes() {},
    /** @param {string} event @param {(...args: any[]) => void} handler */
    on(event, handler) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event)?.add(handler);
    },
    /** @param {string} event @param {(...args: any[]) => void} handler */
    off(event, handler) {
      handlers.get(event)?.delete(handler);
    },
    /** @param {any} msg @param {unknown} [_callbacks] @param {ArrayBuffer[]} [buffers] */
    send(msg, _callbacks, buffers) {
      sent.push(msg);
      sentBuffers.push(buffers || []);
    },
    sentBuffers,
    /** How many handlers are subscribed (0 after a view is removed). */
    listenerCount: () => [...handlers.values()].reduce((n, set) => n + set.size, 0),
    widget_manager: {},
  };
  return model;
}

/**
 * Renders a widget module into a fresh element attached to the document.
 * @param {{render: Function}} widget
 * @param {ReturnType<typeof fakeModel>} model
 */
export async function mount(widget, model) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = await widget.render({ model, el });
  return { el, cleanup: /** @type {() => void} */ (cleanup) };
}

/** @param {Partial<import("../shared/types.js").Card> & {id: string}} fields */
export function card(fields) {
  return {
    name: "",
    prompt: `prompt of ${fields.id}`,
    state: "done",
    label: "Done",
    vote: "none",
    created: "",
    since: 0,
    thumb: 0,
    run: "",
    ...fields,
  };
}

/** Lets the view's zero-delay timers (the "want" request) run. */
export const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * The 2 x 2 comparison "{marble|oak} counter, {warm|cold} light" over pictures a-d, as board.py sends it.
 * @param {Partial<import("../shared/types.js").Run>} [fields] the run's own fields (key, ids, ...)
 * @param {Partial<import("../shared/types.js").CompareRow>} [row] fields every row has besides its words
 * @returns {import("../shared/types.js").Run}
 */
export function marbleOakRun(fields = {}, row = {}) {
  /** @type {(key: string, material: string, light: string, ids: string[]) => import("../shared/types.js").CompareRow} */
  const cell = (key, material, light, ids) => ({
    key,
    prompt: `${material} counter, ${light} light`,
    parts: [
      [material, true],
      [" counter, ", false],
      [light, true],
    ],
    ids,
    ...row,
  });
  return {
    key: "cmp",
    kind: "compare",
    prompt: "{marble|oak} counter, {warm|cold} light",
    rows: [cell("1", "marble", "warm", ["a", "b"]), cell("2", "oak", "cold", ["c", "d"])],
    ...fields,
  };
}
