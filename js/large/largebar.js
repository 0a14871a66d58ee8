// The large view's bar: the controls that stay in sight at the top whatever the window's height
// (Previous/Next, "3 of 12", zoom, tiles or the slider, the product, auto-advance, Close).

import { button, h } from "../shared/dom.js";
import { productControls } from "./product.js";

/**
 * @param {object} o
 * @param {HTMLElement} o.zoomText
 * @param {string} o.where "3 of 12" in a comparison, else ""
 * @param {number} o.comparing how many pictures are compared (0: one picture)
 * @param {import("../shared/store.js").UiStore} o.store the modes shown pressed, auto-advance
 * @param {boolean} o.productHeld
 * @param {(name: string) => void} o.act runs a large-view action by its key-map name
 * @param {(msg: object, buffers: ArrayBuffer[]) => void} o.sendBytes
 */
export function largeBar(o) {
  const modes = o.store.get("modes");
  const node = h("div", "qw-large-bar");
  const nav = h("div", "qw-large-nav");
  nav.append(
    button("‹ Previous", "qw-large-prev", () => o.act("prev"), "Previous picture (←)"),
    button("Next ›", "qw-large-next", () => o.act("next"), "Next picture (→)"),
  );
  if (o.where) nav.append(h("span", "qw-large-where", o.where));
  const zoom = h("div", "qw-zoom");
  zoom.append(
    button("−", "qw-zoom-out", () => o.act("zoom_out"), "Zoom out (-)"),
    o.zoomText,
    button("+", "qw-zoom-in", () => o.act("zoom_in"), "Zoom in (+)"),
    button("100 % / fit", "qw-zoom-full", () => o.act("zoom_toggle"), "100 % or fit (Z)"),
  );
  if (o.comparing === 2) {
    const label = modes.slider ? "Side by side" : "Slider";
    zoom.append(button(label, "qw-slider-toggle", () => o.act("slider"), "Slider or side by side (S)"));
  } else if (!o.comparing) {
    const tile = button(
      "Tile 3 × 3",
      "qw-tile-toggle",
      () => o.act("tile"),
      "Show the picture tiled 3 × 3 (T)",
    );
    tile.setAttribute("aria-pressed", String(modes.tiled));
    zoom.append(tile);
  }
  node.append(nav, zoom);
  if (!o.comparing) {
    node.append(productControls({ store: o.store, held: o.productHeld, sendBytes: o.sendBytes }));
  }
  const advance = h("label", "qw-advance");
  const box = h("input", "qw-advance-on");
  box.type = "checkbox";
  box.checked = o.store.get("advance");
  box.title = "After a mark, go to the next picture (Shift with the key does the opposite)";
  box.addEventListener("change", () => o.store.set("advance", box.checked));
  advance.append(box, " Auto-advance");
  node.append(advance);
  node.append(button("Close ✕", "qw-large-close", () => o.act("close"), "Close (Esc)"));
  return node;
}

/**
 * The large view's own keys when no key map applies (or the key is not in it): S for the slider.
 * @param {KeyboardEvent} event
 */
export function fallbackKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return "";
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  /** @type {Record<string, string>} */
  const names = {
    Escape: "close",
    ArrowRight: "next",
    ArrowLeft: "prev",
    "+": "zoom_in",
    "=": "zoom_in",
    "-": "zoom_out",
    z: "zoom_toggle",
    t: "tile",
    s: "slider",
  };
  return names[key] || "";
}
