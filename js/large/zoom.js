// The large view's zoom and pan as plain numbers, so the rules are tested without a DOM.
// A view is {scale, x, y}: the picture drawn `scale` times its natural size with its top-left corner
// at (x, y) in the stage's box. "Fit" shows the whole picture as large as the box allows (small
// originals are enlarged: the view uses the space it has); 100 % is one picture pixel per CSS pixel.

/** @typedef {{w: number, h: number}} Size */
/** @typedef {{scale: number, x: number, y: number}} View */
/** @typedef {{x: number, y: number}} Point */

/** The smallest and largest zoom, relative to the picture's natural size. */
export const MIN_SCALE = 0.05;
export const MAX_SCALE = 16;
/** One wheel notch or one +/- press. */
export const STEP = 1.25;

/** @param {number} value @param {number} low @param {number} high */
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/**
 * The scale at which the whole picture fits the box.
 * @param {Size} picture
 * @param {Size} box
 */
export function fitScale(picture, box) {
  if (!(picture.w > 0 && picture.h > 0 && box.w > 0 && box.h > 0)) return 1;
  return clamp(Math.min(box.w / picture.w, box.h / picture.h), MIN_SCALE, MAX_SCALE);
}

/**
 * Keeps the picture where a person can see it: centred on an axis where it is smaller than the box,
 * and with no empty band on an axis where it is larger.
 * @param {View} view
 * @param {Size} picture
 * @param {Size} box
 * @returns {View}
 */
export function clampPan(view, picture, box) {
  /** @param {number} offset @param {number} drawn @param {number} room */
  const axis = (offset, drawn, room) => (drawn <= room ? (room - drawn) / 2 : clamp(offset, room - drawn, 0));
  return {
    scale: view.scale,
    x: axis(view.x, picture.w * view.scale, box.w),
    y: axis(view.y, picture.h * view.scale, box.h),
  };
}

/**
 * The picture fitted and centred.
 * @param {Size} picture
 * @param {Size} box
 */
export function fitView(picture, box) {
  return clampPan({ scale: fitScale(picture, box), x: 0, y: 0 }, picture, box);
}

/**
 * Zooms by `factor` keeping the picture point under `at` (a point in the box) where it is.
 * @param {View} view
 * @param {number} factor
 * @param {Point} at
 * @param {Size} picture
 * @param {Size} box
 */
export function zoomAt(view, factor, at, picture, box) {
  const scale = clamp(view.scale * factor, MIN_SCALE, MAX_SCALE);
  const ratio = scale / view.scale;
  const moved = { scale, x: at.x - (at.x - view.x) * ratio, y: at.y - (at.y - view.y) * ratio };
  return clampPan(moved, picture, box);
}

/**
 * Moves the picture by a drag of (dx, dy) CSS pixels.
 * @param {View} view
 * @param {number} dx
 * @param {number} dy
 * @param {Size} picture
 * @param {Size} box
 */
export function panBy(view, dx, dy, picture, box) {
  return clampPan({ scale: view.scale, x: view.x + dx, y: view.y + dy }, picture, box);
}

/**
 * Z: from any zoom but 100 % to 100 % around `at` (the pointer, else the centre), from 100 % to fit.
 * @param {View} view
 * @param {Point} at
 * @param {Size} picture
 * @param {Size} box
 */
export function toggleFull(view, at, picture, box) {
  if (Math.abs(view.scale - 1) < 1e-6) return fitView(picture, box);
  return zoomAt(view, 1 / view.scale, at, picture, box);
}

/** The zoom as a person reads it. @param {View} view */
export function percent(view) {
  return `${Math.round(view.scale * 100)} %`;
}

/**
 * The longest side, in device pixels, a large picture needs to be sharp when fitted in `box`
 * (rounded up to a multiple of 256 so small resizes do not ask for a new picture).
 * @param {Size} box
 * @param {number} devicePixelRatio
 */
export function wantedPx(box, devicePixelRatio) {
  const longest = Math.max(box.w, box.h) * (devicePixelRatio > 0 ? devicePixelRatio : 1);
  return Math.max(256, Math.ceil(longest / 256) * 256);
}
