// A studio's library folds to its title line: its pictures are already in Runs (gallery.py `collapsed`).

/**
 * The fold button; `draw` shows it only when Python sets `collapsed` (a library in a studio).
 * @param {import("@anywidget/types").AnyModel<import("../shared/types.js").CanvasModel>} model
 * @param {ReturnType<typeof import("../shared/dom.js").traits>} t
 * @param {HTMLElement} el
 */
export function createFold(model, t, el) {
  const fold = document.createElement("button");
  fold.className = "qw-btn qw-lib-fold";
  fold.type = "button";
  fold.addEventListener("click", () => t.set("collapsed", !model.get("collapsed")));
  const draw = () => {
    const collapsed = model.get("collapsed");
    fold.hidden = collapsed === undefined || collapsed === null;
    el.classList.toggle("qw-lib-collapsed", collapsed === true);
    fold.textContent = collapsed ? `▸ Show · ${t.get("count_text", "")}` : "▾ Fold";
    fold.setAttribute("aria-expanded", String(!collapsed));
  };
  return { node: fold, draw };
}
