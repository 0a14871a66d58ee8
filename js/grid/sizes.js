// The thumbnail-size control: small / medium / large. The grid's columns follow the width at each
// size (auto-fill), so a wide screen fills with more pictures instead of an empty band. The value is
// the validated `thumb_size` trait (Python's Enum), so every view of the widget shows the same size.

import { button, h } from "../shared/dom.js";

/** The sizes, in the order they are offered. */
export const SIZES = Object.freeze(["small", "medium", "large"]);

/**
 * The control, made once; `draw` presses the current size and sets the grid's columns.
 * @param {HTMLElement} el the view's element (its data-size sets the grid's columns in canvas.css)
 * @param {HTMLElement} node where the control goes
 * @param {{get: (name: any, fallback: any) => any, set: (name: any, value: any) => void}} t
 */
export function createSizes(el, node, t) {
  node.setAttribute("role", "group");
  node.setAttribute("aria-label", "Thumbnail size");
  node.append(h("span", "qw-sizes-label", "Size"));
  const choices = SIZES.map((size) => {
    const label = size[0].toUpperCase() + size.slice(1);
    const choice = button(
      "",
      `qw-size qw-size-${size}`,
      () => t.set("thumb_size", size),
      `${label} thumbnails`,
    );
    // The word where there is room, its first letter in a narrow notebook (canvas.css); named in full.
    choice.append(h("span", "qw-size-long", label), h("span", "qw-size-short", label[0]));
    choice.setAttribute("aria-label", `${label} thumbnails`);
    node.append(choice);
    return choice;
  });
  const draw = () => {
    const current = SIZES.includes(t.get("thumb_size", "medium")) ? t.get("thumb_size", "medium") : "medium";
    el.dataset.size = current;
    SIZES.forEach((size, i) => {
      choices[i].setAttribute("aria-pressed", String(size === current));
      choices[i].classList.toggle("qw-on", size === current);
    });
  };
  draw();
  return { draw };
}
