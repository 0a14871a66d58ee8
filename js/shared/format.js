// Pure drawing math and wording the views share: no DOM here, so unit tests import it bare.

/** How a review vote is drawn: an icon and a word. */
export const VOTES = /** @type {const} */ ({
  approved: ["✓", "Approved"],
  rejected: ["✕", "Rejected"],
  none: ["○", "Not reviewed"],
});

/**
 * @param {string | undefined} vote
 * @returns {readonly [string, string]}
 */
export function voteOf(vote) {
  return VOTES[/** @type {keyof typeof VOTES} */ (vote)] || VOTES.none;
}

/**
 * The time since `sinceMs`, as a live placeholder shows it ("42 s", "3 min 07 s").
 * @param {number} sinceMs
 * @param {number} [nowMs]
 */
export function elapsed(sinceMs, nowMs = Date.now()) {
  const seconds = Math.max(0, Math.floor((nowMs - sinceMs) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
}

/**
 * The two widths of a run's progress bar (percent of the total) and its ARIA numbers.
 * @param {{total?: number, done?: number, failed?: number}} run
 */
export function progressBar(run) {
  const total = Math.max(1, run.total || 1);
  const done = run.done || 0;
  const failed = run.failed || 0;
  return { total, now: done + failed, donePct: (100 * done) / total, failedPct: (100 * failed) / total };
}

/**
 * What a card is called: its prompt, else its name.
 * @param {{prompt?: string, name?: string}} card
 */
export function captionOf(card) {
  return card.prompt || card.name || "(no name)";
}

/** States whose placeholder spins. */
export const LIVE_STATES = new Set(["processing", "queued", "waiting"]);

/** States whose placeholder shows the time since the job started. */
export const TIMED_STATES = new Set(["processing", "queued"]);

/**
 * The id `delta` steps from `current` in `ids`, wrapping around; null when `current` is not there.
 * @param {string[]} ids
 * @param {string} current
 * @param {number} delta
 */
export function stepId(ids, current, delta) {
  const index = ids.indexOf(current);
  if (index < 0 || !ids.length) return null;
  return ids[(index + delta + ids.length) % ids.length];
}

/**
 * A typed count snapped to a whole number inside the limits; what cannot be read keeps `fallback`.
 * @param {number} raw
 * @param {number} fallback
 * @param {number} min
 * @param {number} max
 */
export function snapCount(raw, fallback, min, max) {
  const value = Number.isFinite(raw) ? Math.round(raw) : fallback;
  return Math.min(max, Math.max(min, value));
}

/**
 * The prompt counter's text and whether the prompt is too long.
 * @param {number} length
 * @param {number} max
 */
export function counterText(length, max) {
  return { text: `${length.toLocaleString()} / ${max.toLocaleString()}`, over: length > max };
}
