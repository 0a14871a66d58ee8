// The large view's bar: the controls that stay in sight at the top whatever the window's height
// (Previous/Next, "3 of 12", zoom, tiles or the slider, the product, auto-advance, Close).

import { button, h } from "../dom.js";
import { productControls } from "./product.js";

/**
 * @param {object} o
 * @param {HTMLElement} o.zoomText
 * @param {string} o.where "3 of 12" in a comparison, else ""
 * @param {number} o.comparing how many pictures are compared (0: one picture)
 * @param {import("./stage.js").StageState} o.state
 * @param {boolean} o.productHeld
 * @param {boolean} o.marks whether marks (and so auto-advance) are on
 * @param {(name: string) => void} o.act runs a large-view action by its key-map name
 * @param {(msg: object, buffers: ArrayBuffer[]) => void} o.sendBytes
 * @param {() => void} o.redraw
 */
export function largeBar(o) {
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
    const label = o.state.slider ? "Side by side" : "Slider";
    zoom.append(button(label, "qw-slider-toggle", () => o.act("slider"), "Slider or side by side (S)"));
  } else if (!o.comparing) {
    const tile = button(
      "Tile 3 × 3",
      "qw-tile-toggle",
      () => o.act("tile"),
      "Show the picture tiled 3 × 3 (T)",
    );
    tile.setAttribute("aria-pressed", String(o.state.tiled));
    zoom.append(tile);
  }
  node.append(nav, zoom);
  if (!o.comparing) {
    node.append(
      productControls({ state: o.state, held: o.productHeld, sendBytes: o.sendBytes, redraw: o.redraw }),
    );
  }
  if (o.marks) {
    const advance = h("label", "qw-advance");
    const box = h("input", "qw-advance-on");
    box.type = "checkbox";
    box.checked = o.state.autoAdvance;
    box.title = "After a mark, go to the next picture (Shift with the key does the opposite)";
    box.addEventListener("change", () => {
      o.state.autoAdvance = box.checked;
    });
    advance.append(box, " Auto-advance");
    node.append(advance);
  }
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
