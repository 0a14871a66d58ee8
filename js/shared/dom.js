// The few DOM helpers every view uses, written once: an element with a class and text, a button,
// text with marked pieces, and a typed reader/writer of a model's traits.

/** @typedef {import("@anywidget/types").AnyModel<any>} AnyModel */

/**
 * An element with a class and plain text (never HTML: every string from Python is data).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {unknown} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/**
 * @param {string} label
 * @param {string} className
 * @param {(event: MouseEvent) => void} onClick
 * @param {string} [title]
 */
export function button(label, className, onClick, title) {
  const node = h("button", `qw-btn ${className || ""}`.trim(), label);
  node.type = "button";
  if (title) node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

/**
 * Appends text whose varying pieces are marked (a template's variants, a comparison's rows).
 * @param {HTMLElement} parent
 * @param {Array<[string, boolean]>} parts
 */
export function appendMarked(parent, parts) {
  for (const [piece, varies] of parts) {
    parent.append(varies ? h("mark", "qw-varies", piece) : document.createTextNode(piece));
  }
}

/**
 * Reads and writes a model's traits; a missing or null trait reads as the fallback.
 * @template {Record<string, any>} T
 * @param {import("@anywidget/types").AnyModel<T>} model
 */
export function traits(model) {
  return {
    /**
     * @template {keyof T & string} K
     * @param {K} name
     * @param {NonNullable<T[K]>} fallback
     * @returns {NonNullable<T[K]>}
     */
    get(name, fallback) {
      const value = model.get(name);
      return value === undefined || value === null ? fallback : value;
    },
    /**
     * @template {keyof T & string} K
     * @param {K} name
     * @param {T[K]} value
     */
    set(name, value) {
      model.set(name, value);
      model.save_changes();
    },
  };
}

/**
 * Subscribes handlers to trait changes (and custom messages) and returns what undoes it.
 * @param {AnyModel} model
 * @param {Array<[string, (...args: any[]) => void]>} listeners
 */
export function listen(model, listeners) {
  for (const [event, handler] of listeners) model.on(event, handler);
  return () => {
    for (const [event, handler] of listeners) model.off(event, handler);
  };
}
