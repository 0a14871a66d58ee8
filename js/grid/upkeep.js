// What a view keeps up while it is open: elapsed time on live placeholders, "still here" for the
// kernel, and the large view's picture size following the window.

import { wantedPx } from "../large/zoom.js";
import { elapsed } from "../shared/format.js";
import { send } from "../shared/protocol.js";

/** Every how many ticks of a second a view tells the kernel it is still there. */
const ALIVE_EVERY = 20;

/**
 * Elapsed time on live placeholders, and "still here" for the kernel (a closed tab stops this).
 * @param {HTMLElement} el
 * @param {(msg: object) => void} sendMsg
 * @returns {() => void} stops the ticker
 */
export function startTicker(el, sendMsg) {
  let beat = 0;
  const ticker = setInterval(() => {
    for (const node of el.querySelectorAll(".qw-elapsed")) {
      node.textContent = elapsed(Number(/** @type {HTMLElement} */ (node).dataset.since));
    }
    beat += 1;
    if (beat % ALIVE_EVERY === 0 && el.isConnected) sendMsg(send.alive());
  }, 1000);
  return () => clearInterval(ticker);
}

/**
 * The large view fetches pictures at the size the window can show (Python caps it for memory).
 * @param {import("@anywidget/types").AnyModel<import("../shared/types.js").CanvasModel>} model
 * @param {ReturnType<typeof import("../shared/dom.js").traits>} t
 * @returns {{ sizeUp: () => void, dispose: () => void }}
 */
export function watchWindowSize(model, t) {
  const sizeUp = () => {
    const px = wantedPx({ w: window.innerWidth, h: window.innerHeight }, window.devicePixelRatio || 1);
    // Not saved on its own: it rides along with the next change the view saves (opening a picture),
    // so Python reads both in one update and fetches the open picture at this size.
    if (t.get("preview_px", 0) !== px) model.set("preview_px", px);
  };
  let sizeTimer = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
  const onResize = () => {
    clearTimeout(sizeTimer);
    sizeTimer = setTimeout(sizeUp, 300);
  };
  window.addEventListener("resize", onResize);
  return {
    sizeUp,
    dispose: () => {
      clearTimeout(sizeTimer);
      window.removeEventListener("resize", onResize);
    },
  };
}
