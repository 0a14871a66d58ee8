// The product preview's controls in the large view: a file picker whose cutout goes to Python as a
// binary buffer (checked there like any downloaded image; the checked copy comes back in a
// "product" message), a "Show product" toggle and the cutout's scale.

import { h } from "../shared/dom.js";
import { send } from "../shared/protocol.js";

/**
 * @param {object} opts
 * @param {import("../shared/store.js").UiStore} opts.store the large view's modes (the overlay redraws on them)
 * @param {boolean} opts.held whether a checked cutout is in the view
 * @param {(msg: object, buffers: ArrayBuffer[]) => void} opts.sendBytes
 */
export function productControls({ store, held, sendBytes }) {
  /** @param {Partial<import("../shared/store.js").Modes>} change */
  const setModes = (change) => store.update("modes", (modes) => ({ ...modes, ...change }));
  const node = h("div", "qw-product");
  const picker = h("label", "qw-btn qw-product-pick", held ? "Change product…" : "Product cutout…");
  picker.title = "A PNG or WebP with transparency, shown over the background at the bottom centre";
  const input = h("input", "qw-product-file");
  input.type = "file";
  input.accept = "image/png,image/webp";
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    sendBytes(send.product(), [await readBytes(file)]);
    input.value = "";
  });
  picker.append(input);
  node.append(picker);
  if (!held) return node;
  const toggle = h("label", "qw-product-show");
  const box = h("input", "qw-product-on");
  box.type = "checkbox";
  box.checked = store.get("modes").productOn;
  box.addEventListener("change", () => setModes({ productOn: box.checked }));
  toggle.append(box, " Show product");
  const scale = h("input", "qw-product-scale");
  scale.type = "range";
  scale.min = "5";
  scale.max = "100";
  scale.value = String(Math.round(store.get("modes").productScale * 100));
  scale.setAttribute("aria-label", "Product size, percent of the picture's width");
  scale.title = "Product size";
  scale.addEventListener("input", () => setModes({ productScale: Number(scale.value) / 100 }));
  node.append(toggle, scale);
  return node;
}

/**
 * The file's bytes (FileReader: every browser and jsdom have it).
 * @param {Blob} file
 * @returns {Promise<ArrayBuffer>}
 */
function readBytes(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(/** @type {ArrayBuffer} */ (reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file);
  });
}
