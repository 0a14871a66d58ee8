// Following a new run: after a click on a button the next new run scrolls into view once, unless the
// person scrolls meanwhile (FollowNewRun keeps that state; watchGestures wires it to the page).

/** @typedef {import("../shared/types.js").Run} Run */

/**
 * Keeps a new run in view once: after a click that may start one (Generate, a "yes"), the first run
 * that appears is scrolled into view, unless the person scrolled since the click.
 */
export class FollowNewRun {
  /** @param {Run[]} runs the runs drawn when the view opened (never followed) */
  constructor(runs) {
    this.known = new Set(runs.map((run) => run.key));
    this.armed = false;
  }

  /** A click on a button of a form or a canvas: the next new run is followed. */
  clicked() {
    this.armed = true;
  }

  /** The person scrolled (wheel, touch, keys): leave the page where they put it. */
  scrolled() {
    this.armed = false;
  }

  /**
   * The key of the run to scroll to now, if any (each new run is considered once).
   * @param {Run[]} runs
   * @returns {string | null}
   */
  follow(runs) {
    const fresh = runs.find((run) => !this.known.has(run.key));
    for (const run of runs) this.known.add(run.key);
    if (!fresh || !this.armed) return null;
    this.armed = false;
    return fresh.key;
  }
}

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
