// A menu button (the WAI-ARIA "menu button" pattern): one button in the toolbar that opens a short list
// of actions, so occasional actions (the exports) do not take a row of the screen from the pictures.
// The button opens it (click, Enter, Space, ArrowDown on the first item, ArrowUp on the last); arrows,
// Home/End and Tab move; Enter or a click runs an item; Escape closes and gives the focus back to the
// button; a click or the focus going elsewhere closes it.

import { h } from "../shared/dom.js";

/**
 * One action of a menu.
 * @typedef {object} MenuItem
 * @property {string} label
 * @property {string} className its own class (tests and styles find it by that)
 * @property {() => void} onSelect
 * @property {string} [title] what it does, as a tooltip
 * @property {string} [disabled] why it cannot be used now (shown as its tooltip); unset: it can
 */

let menus = 0;

/**
 * @param {object} o
 * @param {string} o.label the button's words ("Export"); the menu's name too
 * @param {string} o.className the button's own class
 * @param {MenuItem[]} o.items
 * @param {string} [o.title] the button's tooltip
 * @returns {HTMLElement} the wrapper holding the button and its (closed) menu
 */
export function menuButton(o) {
  menus += 1;
  const wrap = h("div", "qw-menu");
  const opener = h("button", `qw-btn qw-menu-button ${o.className}`, `${o.label} ▾`);
  opener.type = "button";
  if (o.title) opener.title = o.title;
  const list = h("div", "qw-menu-list");
  list.id = `qw-menu-${menus}`;
  list.setAttribute("role", "menu");
  list.setAttribute("aria-label", o.label);
  list.hidden = true;
  opener.setAttribute("aria-haspopup", "menu");
  opener.setAttribute("aria-expanded", "false");
  opener.setAttribute("aria-controls", list.id);

  const entries = o.items.map((item) => {
    const entry = h("button", `qw-menu-item ${item.className}`, item.label);
    entry.type = "button";
    entry.setAttribute("role", "menuitem");
    entry.tabIndex = -1;
    setUsable(entry, item.disabled, item.title);
    entry.addEventListener("click", (event) => {
      event.stopPropagation();
      if (entry.getAttribute("aria-disabled") === "true") return;
      close(true);
      item.onSelect();
    });
    return entry;
  });
  list.append(...entries);
  wrap.append(opener, list);

  const isOpen = () => !list.hidden;

  /** @param {PointerEvent} event a press anywhere else closes the menu (its path: marimo draws in a shadow root) */
  const onOutside = (event) => {
    if (!wrap.isConnected) document.removeEventListener("pointerdown", onOutside, true);
    else if (!event.composedPath().includes(wrap)) close(false);
  };

  /** @param {number} index which item gets the focus (-1: the last) */
  function open(index) {
    if (!isOpen()) {
      list.hidden = false;
      opener.setAttribute("aria-expanded", "true");
      wrap.classList.add("qw-menu-open");
      place();
      document.addEventListener("pointerdown", onOutside, true);
    }
    focusItem(index < 0 ? entries.length - 1 : index);
  }

  /** @param {boolean} refocus give the focus back to the button (Escape, an item run) */
  function close(refocus) {
    if (isOpen()) {
      list.hidden = true;
      opener.setAttribute("aria-expanded", "false");
      wrap.classList.remove("qw-menu-open");
      document.removeEventListener("pointerdown", onOutside, true);
    }
    if (refocus) opener.focus();
  }

  /** @param {number} index */
  function focusItem(index) {
    const at = (index + entries.length) % entries.length;
    entries.forEach((entry, i) => {
      entry.tabIndex = i === at ? 0 : -1;
    });
    entries[at]?.focus();
  }

  /**
   * Under its button, towards the side with room: the list is placed in the toolbar's box (canvas.css
   * makes the head and the selection row its containing block), so an open menu is never wider than
   * the view and never makes the page scroll sideways.
   */
  function place() {
    const box = (list.offsetParent || document.body).getBoundingClientRect();
    const at = opener.getBoundingClientRect();
    list.style.minWidth = `${at.width}px`;
    const width = list.getBoundingClientRect().width;
    const left = at.left - box.left;
    const end = at.right - box.left - width;
    list.style.left = `${Math.max(0, left + width <= box.width ? left : end)}px`;
    list.style.top = `${at.bottom - box.top + 4}px`;
  }

  opener.addEventListener("click", () => (isOpen() ? close(false) : open(0)));
  opener.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      event.stopPropagation();
      open(event.key === "ArrowDown" ? 0 : -1);
    } else if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    }
  });
  list.addEventListener("keydown", (event) => {
    const at = entries.indexOf(/** @type {HTMLButtonElement} */ (event.target));
    /** @type {Record<string, number>} */
    const moves = {
      ArrowDown: at + 1,
      ArrowUp: at - 1,
      Home: 0,
      End: entries.length - 1,
    };
    if (event.key === "Tab") {
      const next = at + (event.shiftKey ? -1 : 1);
      if (next < 0 || next >= entries.length) {
        close(false); // Tab past the ends leaves the menu, as from any other control
        return;
      }
      moves.Tab = next;
    }
    if (event.key in moves) focusItem(moves[event.key]);
    else if (event.key === "Escape") close(true);
    else return; // Enter and Space are the item's own (a button's click)
    event.preventDefault();
    event.stopPropagation();
  });
  // The focus leaving for another control (a click elsewhere, Tab past the end) closes the menu.
  wrap.addEventListener("focusout", (event) => {
    const next = /** @type {Node | null} */ (event.relatedTarget);
    if (next && !wrap.contains(next)) close(false);
  });
  return wrap;
}

/**
 * Makes a menu item usable, or not with the reason as its tooltip (an item that cannot be used stays in
 * the menu, so a person reads why).
 * @param {HTMLElement} entry
 * @param {string | undefined} disabled why it cannot be used now; unset: it can
 * @param {string} [title] what it does, its tooltip while it can be used
 */
export function setUsable(entry, disabled, title) {
  const tip = disabled || title || "";
  if (entry.title !== tip) entry.title = tip;
  if (disabled) entry.setAttribute("aria-disabled", "true");
  else entry.removeAttribute("aria-disabled");
}
