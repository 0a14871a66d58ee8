// The large view's picture area: one picture (or 2-4 side by side, or two under a slider) that
// zooms at the pointer with the wheel and +/-, pans by dragging, toggles 100 % / fit with Z and
// shows the picture tiled 3 x 3 with T. All panes share one zoom and pan, so compared pictures move
// in step. A product cutout can sit over a single picture, at the bottom centre. The numbers are zoom.js;
// the zoom and the modes are the view's UI state (the store's `zoom` and `modes`), so a redraw keeps them.

import { h } from "../shared/dom.js";
import { clampPan, fitView, panBy, percent, STEP, zoomAt } from "./zoom.js";

/** @typedef {import("./zoom.js").Size} Size */
/** @typedef {import("./zoom.js").View} View */

/**
 * @typedef {object} StagePicture
 * @property {string} url
 * @property {string} alt
 * @property {number} w the size the picture is laid out at (the large picture's pixels)
 * @property {number} h
 * @property {boolean} [low] a thumbnail standing in while the large picture loads
 * @property {string} [label] under the pane, when compared
 */

/**
 * Where the product goes over a picture laid out at `picture`: bottom centre, `scale` of its width.
 * @param {Size} picture
 * @param {Size} product
 * @param {number} scale
 */
export function productBox(picture, product, scale) {
  const w = picture.w * Math.min(1, Math.max(0.05, scale));
  const h = product.w > 0 ? (w * product.h) / product.w : 0;
  return { left: (picture.w - w) / 2, top: picture.h - h, w, h };
}

/**
 * @param {object} opts
 * @param {StagePicture[]} opts.pictures
 * @param {import("../shared/store.js").UiStore} opts.store
 * @param {{url: string, w: number, h: number} | null} opts.product
 * @param {() => void} opts.changed the toolbar's words changed (zoom, modes)
 */
export function createStage({ pictures, store, product, changed }) {
  const node = h("div", "qw-stage");
  const first = pictures[0];
  const compared = pictures.length > 1;
  const modes = store.get("modes");
  const slider = compared && pictures.length === 2 && modes.slider;
  const tiled = !compared && modes.tiled;
  /** The laid-out size the zoom works on: 3 x 3 copies when tiled. @type {Size} */
  const size = tiled ? { w: first.w * 3, h: first.h * 3 } : { w: first.w, h: first.h };
  const key = `${pictures.map((p) => p.alt + p.w).join("|")}:${tiled}`;
  /** @param {Partial<import("../shared/store.js").Zoom>} change */
  const setZoom = (change) => store.set("zoom", { ...store.get("zoom"), ...change });
  if (store.get("zoom").key !== key) setZoom({ view: null, key });
  node.classList.toggle("qw-stage-compare", compared && !slider);
  /** @type {HTMLElement[]} */
  const layers = [];
  /** @type {HTMLElement[]} */
  const panes = [];
  let pointer = /** @type {{x: number, y: number} | null} */ (null);

  /** @param {StagePicture} pic */
  const img = (pic) => {
    const node = h("img", `qw-large-img${pic.low ? " qw-large-low" : ""}`);
    node.src = pic.url;
    node.alt = pic.alt;
    node.draggable = false;
    node.style.width = `${pic.w}px`;
    node.style.height = `${pic.h}px`;
    return node;
  };
  /** @param {StagePicture} pic */
  const layer = (pic) => {
    const node = h("div", "qw-layer");
    node.style.width = `${size.w}px`;
    node.style.height = `${size.h}px`;
    if (tiled) {
      // One repeated background rather than nine pictures: no seams where copies meet when zoomed.
      node.classList.add("qw-tiled");
      node.dataset.tiles = "9";
      node.setAttribute("role", "img");
      node.setAttribute("aria-label", `${pic.alt}, tiled 3 × 3`);
      node.style.backgroundImage = `url("${pic.url}")`;
      node.style.backgroundSize = `${pic.w}px ${pic.h}px`;
    } else node.append(img(pic));
    if (!compared && !tiled && product && modes.productOn) {
      const box = productBox(size, product, modes.productScale);
      const cut = h("img", "qw-product-img");
      cut.src = product.url;
      cut.alt = "Product preview";
      cut.draggable = false;
      Object.assign(cut.style, {
        left: `${box.left}px`,
        top: `${box.top}px`,
        width: `${box.w}px`,
        height: `${box.h}px`,
      });
      node.append(cut);
    }
    layers.push(node);
    return node;
  };

  if (slider) {
    const pane = h("div", "qw-pane qw-slider");
    const under = h("div", "qw-slide");
    under.append(layer(pictures[1]));
    const over = h("div", "qw-slide qw-slide-over");
    over.append(layer(pictures[0]));
    const divider = h("div", "qw-divider");
    divider.setAttribute("role", "slider");
    divider.setAttribute("aria-label", "Divider between the two pictures");
    divider.tabIndex = 0;
    const place = () => {
      const at = Math.round(store.get("zoom").divider * 1000) / 10;
      over.style.clipPath = `inset(0 ${100 - at}% 0 0)`;
      divider.style.left = `${at}%`;
      divider.setAttribute("aria-valuenow", String(Math.round(at)));
    };
    place();
    divider.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      divider.setPointerCapture?.(event.pointerId);
      const move = (/** @type {PointerEvent} */ e) => {
        const rect = pane.getBoundingClientRect();
        if (rect.width > 0)
          setZoom({ divider: Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width)) });
        place();
      };
      const up = () => {
        divider.removeEventListener("pointermove", move);
        divider.removeEventListener("pointerup", up);
      };
      divider.addEventListener("pointermove", move);
      divider.addEventListener("pointerup", up);
    });
    divider.addEventListener("keydown", (event) => {
      const delta = event.key === "ArrowLeft" ? -0.05 : event.key === "ArrowRight" ? 0.05 : 0;
      if (!delta) return;
      setZoom({ divider: Math.min(1, Math.max(0, store.get("zoom").divider + delta)) });
      place();
      event.preventDefault();
      event.stopPropagation();
    });
    pane.append(under, over, divider);
    pane.append(h("div", "qw-pane-label qw-left", pictures[0].label || ""));
    pane.append(h("div", "qw-pane-label qw-right", pictures[1].label || ""));
    panes.push(pane);
  } else {
    for (const pic of pictures) {
      const pane = h("div", "qw-pane");
      pane.append(layer(pic));
      if (compared) pane.append(h("div", "qw-pane-label", pic.label || ""));
      panes.push(pane);
    }
  }
  node.append(...panes);

  /** The box the picture is shown in; a laid-out size when there is no layout (tests). @returns {Size} */
  const box = () => {
    const rect = panes[0].getBoundingClientRect();
    return rect.width > 0 && rect.height > 0 ? { w: rect.width, h: rect.height } : { ...size };
  };
  const view = () => {
    const held = store.get("zoom").view;
    return held ? clampPan(held, size, box()) : fitView(size, box());
  };
  function apply() {
    const v = view();
    for (const node of layers) node.style.transform = `translate(${v.x}px, ${v.y}px) scale(${v.scale})`;
    node.dataset.zoom = String(Math.round(v.scale * 1000) / 1000);
    node.dataset.fit = store.get("zoom").view ? "no" : "yes";
    changed(); // the box is known only once laid out: the shown zoom follows it
  }
  /** @param {View} next */
  const set = (next) => {
    setZoom({ view: next });
    apply();
  };
  const centre = () => {
    const b = box();
    return pointer || { x: b.w / 2, y: b.h / 2 };
  };

  /** @param {MouseEvent} event */
  const local = (event) => {
    const rect = /** @type {HTMLElement} */ (event.currentTarget).getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  };
  for (const pane of panes) {
    pane.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const factor = event.deltaY < 0 ? STEP : 1 / STEP;
        set(zoomAt(view(), factor, local(event), size, box()));
      },
      { passive: false },
    );
    pane.addEventListener("pointermove", (event) => {
      pointer = local(event);
    });
    pane.addEventListener("pointerleave", () => {
      pointer = null;
    });
    pane.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      pane.setPointerCapture?.(event.pointerId);
      let last = { x: event.clientX, y: event.clientY };
      pane.classList.add("qw-dragging");
      const move = (/** @type {PointerEvent} */ e) => {
        set(panBy(view(), e.clientX - last.x, e.clientY - last.y, size, box()));
        last = { x: e.clientX, y: e.clientY };
      };
      const up = () => {
        pane.classList.remove("qw-dragging");
        pane.removeEventListener("pointermove", move);
        pane.removeEventListener("pointerup", up);
      };
      pane.addEventListener("pointermove", move);
      pane.addEventListener("pointerup", up);
    });
  }
  const resize = typeof ResizeObserver === "function" ? new ResizeObserver(() => apply()) : null;
  resize?.observe(panes[0]);
  apply();

  return {
    node,
    /** The zoom as shown in the toolbar. */
    zoomText: () => percent(view()),
    zoomIn: () => set(zoomAt(view(), STEP, centre(), size, box())),
    zoomOut: () => set(zoomAt(view(), 1 / STEP, centre(), size, box())),
    /** Z: 100 % and back to fit (fit is "no view": it follows the window). */
    toggleFull() {
      const now = view();
      if (store.get("zoom").view && Math.abs(now.scale - 1) < 1e-6) {
        setZoom({ view: null });
        apply();
      } else set(zoomAt(now, 1 / now.scale, centre(), size, box()));
    },
    /** Lays the picture out again once the window has its final size. */
    apply,
    dispose: () => resize?.disconnect(),
  };
}
