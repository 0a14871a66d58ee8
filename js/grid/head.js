// What sits around a view's cards: the head (the title, a studio library's fold, the toolbar, the
// thumbnail sizes), the message line under it and the pager below the cards. Each part listens to the
// traits it shows and changes in place.

import { h, listen } from "../shared/dom.js";
import { createFold } from "./fold.js";
import { createSizes } from "./sizes.js";
import { createPager, createToolbar, drawMessage } from "./toolbar.js";

/** The traits the toolbar's controls show. */
const FILTERS = ["state_filter", "vote_filter", "mark_filter", "min_stars", "rating_first", "search", "sort"];

/**
 * @param {object} o
 * @param {import("@anywidget/types").AnyModel<import("../shared/types.js").CanvasModel>} o.model
 * @param {import("./toolbar.js").CanvasTraits} o.t
 * @param {HTMLElement} o.el the view's element
 * @param {(msg: object) => void} o.send
 */
export function createHead({ model, t, el, send }) {
  const [head, titleNode, tools, sizesNode] = ["qw-head", "qw-title", "qw-tools", "qw-sizes"].map((c) =>
    h("div", c),
  );
  const fold = createFold(model, t, el);
  head.append(titleNode, fold.node, tools, sizesNode);
  const message = h("div", "qw-message");
  message.setAttribute("role", "status");
  const pager = h("div", "qw-pager");

  const toolbar = createToolbar(titleNode, tools, t, send);
  const sizes = createSizes(el, sizesNode, t);
  const pages = createPager(pager, t);
  const drawTools = () => {
    toolbar.draw();
    fold.draw();
  };
  const drawMessageLine = () => drawMessage(message, t);
  const drawPages = () => pages.draw();
  const drawMode = () => {
    drawTools();
    drawPages();
  };
  toolbar.drawTitle();
  drawTools();
  drawMessageLine();

  const unlisten = listen(model, [
    ["change:title", () => toolbar.drawTitle()],
    ["change:marks", () => toolbar.drawMarks()],
    ["change:count_text", drawTools],
    ["change:collapsed", () => fold.draw()],
    ...FILTERS.map((name) => /** @type {[string, () => void]} */ ([`change:${name}`, drawTools])),
    ["change:mode", drawMode],
    ["change:message", drawMessageLine],
    ["change:message_kind", drawMessageLine],
    ["change:page", drawPages],
    ["change:page_count", drawPages],
    ["change:thumb_size", () => sizes.draw()],
  ]);
  return { head, message, pager, dispose: unlisten };
}
