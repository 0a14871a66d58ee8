"""The review keys as data: which key does what on a focused card ("grid") and in the large view.

The keys are Lightroom's culling keys, which reviewers already have in their fingers. One table
(`BINDINGS`) serves three readers: `key_intent` (what Python checks a browser's key press against
before it confirms a mark), `keymap_table` (the same table as plain data for the browser, so the JS
need not keep a copy that could drift) and `help_rows` (what `?` shows).

What the browser sends as the key: `event.key`, except for the digit row and the number pad, where it
sends `event.code` ("Digit3", "Numpad3"), because Shift+3 is "#" on one layout and "§" on another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .book import MAX_STARS, PICK, REJECT

__all__ = [
    "BINDINGS",
    "CONFIRM_CLEAR_ABOVE",
    "CONTEXTS",
    "INTENTS",
    "MARK_INTENTS",
    "MAX_COMPARE",
    "MIN_COMPARE",
    "Binding",
    "Intent",
    "compare_ids",
    "help_rows",
    "help_text",
    "intent_from_message",
    "key_intent",
    "keymap_table",
    "mark_targets",
    "normalize_key",
]

GRID, LARGE = "grid", "large"
CONTEXTS = (GRID, LARGE)
ADVANCE_BY_DEFAULT = {GRID: False, LARGE: True}
"""Auto-advance is a toggle of the large view, on by default there; the grid has none (Shift moves on)."""
MIN_COMPARE, MAX_COMPARE = 2, 4
CONFIRM_CLEAR_ABOVE = 10
"""Esc in the grid clears a selection at once up to this size, and asks first above it."""

MARK_INTENTS = ("pick", "reject", "clear_flag", "stars", "clear_stars")
INTENTS = (
    *MARK_INTENTS,
    "toggle_select",
    "compare",
    "zoom_toggle",
    "zoom_in",
    "zoom_out",
    "tile",
    "help",
    "next",
    "prev",
    "open",
    "close",
    "clear_selection",
)


@dataclass(frozen=True)
class Binding:
    """Keys (as `normalize_key` gives them) bound to one intent in some contexts, and its help line."""

    keys: tuple[str, ...]
    intent: str
    contexts: tuple[str, ...]
    label: str
    """The keys as the help shows them."""
    does: str
    stars: int | None = None


BOTH = CONTEXTS
_STARS = tuple(
    Binding((str(n),), "stars", BOTH, f"1 \u2013 {MAX_STARS}", f"Rate 1 to {MAX_STARS} stars", stars=n)
    for n in range(1, MAX_STARS + 1)
)
BINDINGS: tuple[Binding, ...] = (
    Binding(("p",), "pick", BOTH, "P", "Pick"),
    Binding(("x", "Delete"), "reject", BOTH, "X / Delete", "Reject"),
    Binding(("u",), "clear_flag", BOTH, "U", "Clear the flag"),
    *_STARS,
    Binding(("0",), "clear_stars", BOTH, "0", "Clear the stars"),
    Binding(("Space",), "toggle_select", BOTH, "Space", "Select or unselect"),
    Binding(
        ("c",),
        "compare",
        BOTH,
        "C",
        f"Compare the selected pictures side by side ({MIN_COMPARE} to {MAX_COMPARE})",
    ),
    Binding(("ArrowRight",), "next", BOTH, "\u2192", "Next picture"),
    Binding(("ArrowLeft",), "prev", BOTH, "\u2190", "Previous picture"),
    Binding(("Enter",), "open", (GRID,), "Enter", "Open the large view"),
    Binding(("Escape",), "clear_selection", (GRID,), "Esc", "Clear the selection"),
    Binding(("Escape",), "close", (LARGE,), "Esc", "Close the large view"),
    Binding(("z",), "zoom_toggle", (LARGE,), "Z", "100 % or fit to the screen"),
    Binding(("+", "="), "zoom_in", (LARGE,), "+", "Zoom in"),
    Binding(("-",), "zoom_out", (LARGE,), "\u2212", "Zoom out"),
    Binding(("t",), "tile", (LARGE,), "T", "Tile 3 \u00d7 3, to see whether the background repeats cleanly"),
    Binding(("?",), "help", BOTH, "?", "Show these keys"),
)
_SHIFT_HELP = ("Shift + a mark key", "Mark, and do the opposite of auto-advance")

_ALIASES = {
    " ": "Space",
    "Spacebar": "Space",
    "Esc": "Escape",
    "Left": "ArrowLeft",
    "Right": "ArrowRight",
    "Add": "+",
    "Subtract": "-",
    "NumpadAdd": "+",
    "NumpadSubtract": "-",
    "NumpadEnter": "Enter",
}
_LOOKUP: dict[tuple[str, str], Binding] = {
    (key, context): binding for binding in BINDINGS for key in binding.keys for context in binding.contexts
}


@dataclass(frozen=True)
class Intent:
    """What a key press asks for; `advance` says to move to the next picture after a mark."""

    name: str
    stars: int | None = None
    advance: bool = False

    @property
    def is_mark(self) -> bool:
        return self.name in MARK_INTENTS

    def mark(self) -> tuple[str | None, int | None]:
        """(flag, stars) to hand to `mark(ids, flag=..., stars=...)`; None leaves that part alone."""
        if self.name == "pick":
            return PICK, None
        if self.name == "reject":
            return REJECT, None
        if self.name == "clear_flag":
            return "", None
        if self.name == "stars":
            return None, self.stars
        if self.name == "clear_stars":
            return None, 0
        raise ValueError(f"{self.name!r} is not a mark: only {', '.join(MARK_INTENTS)} are.")


def normalize_key(key: str) -> str:
    """One name per key: letters in lower case (Shift+P is "P"), "Digit3"/"Numpad3" as "3", old browser
    names ("Esc", "Spacebar", "Left") as today's."""
    if key.startswith(("Digit", "Numpad")) and key[-1:].isdigit() and len(key) in (6, 7):
        return key[-1]
    key = _ALIASES.get(key, key)
    return key.lower() if len(key) == 1 else key


def _check_context(context: object) -> str:
    if context not in CONTEXTS:
        raise ValueError(
            f'A key press happens in "grid" (a focused card) or "large" (the large view), not {context!r}.'
        )
    return str(context)


def key_intent(
    key: str,
    *,
    context: str = GRID,
    shift: bool = False,
    auto_advance: bool | None = None,
    ctrl: bool = False,
    alt: bool = False,
    meta: bool = False,
) -> Intent | None:
    """The intent of a key press, or None when the key means nothing here (the browser lets it be).

    `auto_advance` is the large view's toggle (None: the context's default); Shift with a mark key does
    the opposite of it. Ctrl, Alt and Cmd belong to the browser and the notebook (Ctrl+C copies), so any
    of them means no intent.
    """
    context = _check_context(context)
    if ctrl or alt or meta:
        return None
    binding = _LOOKUP.get((normalize_key(key), context))
    if binding is None:
        return None
    if binding.intent not in MARK_INTENTS:
        return Intent(binding.intent)
    advance = ADVANCE_BY_DEFAULT[context] if auto_advance is None else auto_advance
    return Intent(binding.intent, binding.stars, advance != shift)


def intent_from_message(content: Mapping[str, object]) -> Intent | None:
    """A browser's key message ``{"key", "context", "shift", "auto_advance"}`` checked field by field and
    mapped with `key_intent`; ValueError with a sentence for a malformed one (a crafted message)."""
    key = content.get("key")
    if not isinstance(key, str) or not 0 < len(key) <= 20:
        raise ValueError(f"A key message names the key as a short string (event.key), not {key!r}.")
    flags: dict[str, bool] = {}
    for name in ("shift", "ctrl", "alt", "meta"):
        value = content.get(name, False)
        if not isinstance(value, bool):
            raise ValueError(f"A key message's {name!r} is true or false, not {value!r}.")
        flags[name] = value
    advance = content.get("auto_advance")
    if advance is not None and not isinstance(advance, bool):
        raise ValueError(f"A key message's 'auto_advance' is true, false or absent, not {advance!r}.")
    return key_intent(key, context=str(content.get("context", "")), auto_advance=advance, **flags)


def compare_ids(selected: Sequence[str]) -> tuple[str, ...]:
    """The pictures `C` opens side by side: two to four, else a sentence saying how many to select."""
    chosen = tuple(dict.fromkeys(selected))
    if not MIN_COMPARE <= len(chosen) <= MAX_COMPARE:
        raise ValueError(
            f"Select {MIN_COMPARE} to {MAX_COMPARE} pictures to compare them side by side; "
            f"{len(chosen)} {'is' if len(chosen) == 1 else 'are'} selected."
        )
    return chosen


def mark_targets(focused: str, selected: Sequence[str]) -> tuple[str, ...]:
    """Which pictures a mark key marks: the whole selection when the focused picture is part of it (as
    Lightroom's grid does), else the focused picture alone."""
    if focused in selected:
        return tuple(dict.fromkeys(selected))
    return (focused,) if focused else ()


def help_rows(context: str | None = None) -> list[tuple[str, str]]:
    """(keys, what they do) for `?`, in the table's order; one row for 1-5; `context` limits the rows
    to one place (None: every key, with where it works when not everywhere)."""
    if context is not None:
        _check_context(context)
    rows: list[tuple[str, str]] = []
    for binding in BINDINGS:
        if context is not None and context not in binding.contexts:
            continue
        does = binding.does
        if context is None and binding.contexts != BOTH:
            does += " (large view)" if binding.contexts == (LARGE,) else " (grid)"
        if (binding.label, does) not in rows:
            rows.append((binding.label, does))
        if binding.intent == "clear_stars":
            rows.append(_SHIFT_HELP)
    return rows


def help_text(context: str | None = None) -> str:
    """`help_rows` as aligned plain text, for a notebook's output."""
    rows = help_rows(context)
    width = max(len(keys) for keys, _ in rows)
    return "\n".join(f"{keys.ljust(width)}  {does}" for keys, does in rows)


def keymap_table() -> list[dict[str, object]]:
    """`BINDINGS` as plain data for a trait: the browser maps keys with the same table Python checks."""
    return [
        {
            "keys": list(b.keys),
            "intent": b.intent,
            "contexts": list(b.contexts),
            "label": b.label,
            "does": b.does,
            **({"stars": b.stars} if b.stars is not None else {}),
        }
        for b in BINDINGS
    ]
