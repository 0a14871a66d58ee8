// Following a new run: after a click on a button the next new run scrolls into view once, unless the
// person scrolls meanwhile (FollowNewRun in runs.js keeps that state; this wires it to the page).

/** @typedef {import("./runs.js").FollowNewRun} FollowNewRun */

/**
 * Tells the follower about clicks on buttons and scroll gestures anywhere on the page.
 * @param {FollowNewRun} follower
 * @returns {() => void} removes the listeners
 */
export function watchGestures(follower) {
  /** @param {Event} event */
  const onClickAnywhere = (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target?.closest(".qw-form button, .qw-canvas button")) follower.clicked();
  };
  /** @param {Event} event */
  const onScrollGesture = (event) => {
    const keys = ["PageUp", "PageDown", "Home", "End", "ArrowUp", "ArrowDown", " "];
    if (event instanceof KeyboardEvent && !keys.includes(event.key)) return;
    if (
      event instanceof KeyboardEvent &&
      event.target instanceof HTMLElement &&
      event.target.closest("input, textarea")
    )
      return;
    follower.scrolled();
  };
  const gestures = ["wheel", "touchmove", "keydown"];
  document.addEventListener("click", onClickAnywhere, true);
  for (const name of gestures)
    document.addEventListener(name, onScrollGesture, { capture: true, passive: true });
  return () => {
    document.removeEventListener("click", onClickAnywhere, true);
    for (const name of gestures) document.removeEventListener(name, onScrollGesture, true);
  };
}

/**
 * Scrolls the run section with this key into view when its bottom is below the window.
 * @param {HTMLElement} body
 * @param {string | null | undefined} key
 */
export function scrollToRun(body, key) {
  const sections = key ? [...body.querySelectorAll("section.qw-run")] : [];
  const section = /** @type {HTMLElement | undefined} */ (
    sections.find((s) => s instanceof HTMLElement && s.dataset.key === key)
  );
  const box = section?.getBoundingClientRect();
  if (section && box && box.bottom > window.innerHeight) {
    section.scrollIntoView({ block: box.height > window.innerHeight ? "start" : "nearest" });
  }
}
