// The studio's view only lays out its three hosted views (anywidget's widget composition, so it draws
// wherever anywidgets do, marimo included); each child's own view draws and styles itself.

/**
 * @typedef {object} StudioModel
 * @property {string} form "anywidget:<model id>" of the PromptForm
 * @property {string} board "anywidget:<model id>" of the StatusBoard (runs)
 * @property {string} gallery "anywidget:<model id>" of the SceneryGallery (library)
 */

/** The hosted views, in the order they are drawn. */
export const PARTS = /** @type {const} */ (["form", "board", "gallery"]);

/** @type {import("@anywidget/types").Render<StudioModel>} */
async function render({ model, el, signal, host }) {
  el.classList.add("qw-studio");
  const slots = PARTS.map((name) => {
    const slot = document.createElement("div");
    slot.className = `qw-studio-part qw-studio-${name}`;
    el.appendChild(slot);
    return slot;
  });
  // Children render in parallel, each in its slot, so a slow library never holds back the form.
  await Promise.all(
    PARTS.map(async (name, i) => {
      const child = await host.getWidget(model.get(name));
      if (!signal.aborted) await child.render({ el: slots[i], signal });
    }),
  );
}

export default { render };
