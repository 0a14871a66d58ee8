// What the large view's picture area shows: for each picture on the stage the large one when held, else
// its thumbnail standing in at the large size, and the product cutout over a single picture. The stage
// (stage.js) is made again only when that changes: a new fact, a confirmed mark or the preview's words
// leave its panes, its pictures and its zoom where they are.

import { h } from "../shared/dom.js";
import { captionOf } from "../shared/format.js";
import { createStage } from "./stage.js";

/**
 * @typedef {object} PictureAreaContext
 * @property {import("../grid/toolbar.js").CanvasTraits} t
 * @property {import("../shared/store.js").UiStore} store
 * @property {import("../grid/pictures.js").PictureStore} pictures
 * @property {(id: string) => import("../shared/types.js").Card | undefined} card
 */

/** @param {PictureAreaContext} ctx */
export function createPictureArea(ctx) {
  const { t, store, pictures } = ctx;
  /** @type {ReturnType<typeof createStage> | null} */
  let stage = null;
  let shown = "";
  /** The bar's zoom words (a new bar each draw of the large view; the stage keeps its own). */
  let zoomText = h("span", "qw-zoom-text");

  /**
   * The picture to lay out for `id`: the large one when held, else its thumbnail at the large size.
   * @param {string} id
   * @returns {import("./stage.js").StagePicture | null}
   */
  function pictureOf(id) {
    const p = t.get("preview", {});
    const caption = captionOf(ctx.card(id) || {}) || id;
    const big = pictures.large(id);
    const known = p.id === id && p.w && p.h ? { w: p.w, h: p.h } : null;
    if (big)
      return { url: big.url, alt: caption, w: big.w || known?.w || 1024, h: big.h || known?.h || 1024 };
    const pic = pictures.thumb(id);
    if (!pic) return null;
    const side = t.get("thumb_px", 176);
    return { url: pic.url, alt: caption, low: true, w: known?.w || side, h: known?.h || side };
  }

  function productSize() {
    const info = t.get("product", {});
    return pictures.product && info.w ? { url: pictures.product.url, w: info.w || 1, h: info.h || 1 } : null;
  }

  function writeZoom() {
    zoomText.textContent = stage ? stage.zoomText() : "";
  }

  function dispose() {
    stage?.dispose();
    stage = null;
    shown = "";
  }

  return {
    /**
     * The stage for `ids` (the open one `id` marked active), the one drawn before when it shows the same.
     * @param {string} id
     * @param {string[]} ids
     * @param {HTMLElement} words where the zoom is written
     * @returns {{node: HTMLElement, panes: HTMLElement[]}}
     */
    show(id, ids, words) {
      zoomText = words;
      const pics = ids.map((x) => pictureOf(x));
      if (!pics.every((x) => x !== null)) {
        dispose();
        return { node: h("div", "qw-stage qw-stage-empty"), panes: [] };
      }
      const withLabels = pics.map((x, i) => ({ ...x, label: captionOf(ctx.card(ids[i]) || {}) }));
      const product = ids.length === 1 ? productSize() : null;
      const key = JSON.stringify([withLabels, product, store.get("modes")]);
      if (!stage || key !== shown) {
        dispose();
        stage = createStage({ pictures: withLabels, store, product, changed: writeZoom });
        shown = key;
      }
      stage.node.querySelector(".qw-stage-note")?.remove();
      const panes = /** @type {HTMLElement[]} */ ([...stage.node.querySelectorAll(".qw-pane")]);
      panes.forEach((pane, i) => {
        pane.classList.toggle("qw-pane-active", ids[i] === id);
      });
      writeZoom();
      return { node: stage.node, panes };
    },
    /** Lays the picture out again once it is in the page. */
    apply: () => stage?.apply(),
    zoomIn: () => stage?.zoomIn(),
    zoomOut: () => stage?.zoomOut(),
    toggleFull: () => stage?.toggleFull(),
    dispose,
  };
}
