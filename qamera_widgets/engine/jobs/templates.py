"""Prompt templates with alternatives: ``{oak|marble} countertop, {soft|warm} light`` -> four prompts.

Exploring means changing one thing and comparing, so a template expands into every combination of
its alternatives, in reading order, and each expansion remembers which alternative it took from
each group: that is what a comparison highlights. Pure functions, no I/O.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ...contract import MAX_PREFERENCES_CHARS

__all__ = ["MAX_VARIANTS", "TemplateError", "Variant", "expand", "is_template", "variant_count"]

MAX_VARIANTS = 20
"""One job per variant: twenty is already 400 credits at ten pictures each, and a screen of rows."""
_SHOWN_COUNT_LIMIT = 10_000
"""Past this a too-big template is "more than 10,000 prompts": an exact figure would be a number with
thousands of digits (and Python refuses to print one past 4,300)."""
_SHOWN_GROUPS = 8


class TemplateError(ValueError):
    """A template that cannot be expanded; the message says what to fix."""


@dataclass(frozen=True)
class Variant:
    """One expansion: the prompt to send, the alternative it took from each group, and the prompt as
    (text, chosen) pieces so a view can highlight the words that vary."""

    text: str
    choices: tuple[str, ...]
    parts: tuple[tuple[str, bool], ...] = field(default=(), compare=False)


def is_template(text: str) -> bool:
    """Whether the text asks for alternatives at all (a brace anywhere)."""
    return "{" in text or "}" in text


def _parse(template: str) -> list[str | tuple[str, ...]]:
    """Literal text and groups of alternatives, or a TemplateError that says where the problem is."""
    pieces: list[str | tuple[str, ...]] = []
    literal: list[str] = []
    position = 0
    while position < len(template):
        char = template[position]
        if char == "}":
            raise TemplateError(
                f"There is a closing brace without an opening one at character {position + 1}: "
                "write alternatives as {oak|marble}."
            )
        if char != "{":
            literal.append(char)
            position += 1
            continue
        end = template.find("}", position + 1)
        nested = template.find("{", position + 1)
        if end < 0:
            raise TemplateError(
                f"The brace at character {position + 1} is never closed: add a }} after its alternatives."
            )
        if 0 <= nested < end:
            raise TemplateError(
                f"Braces cannot be nested (character {nested + 1}): use one group per choice, "
                "e.g. {oak|marble} countertop, {soft|warm} light."
            )
        options = template[position + 1 : end].split("|")
        stripped = tuple(option.strip() for option in options)
        if any(not option for option in stripped):
            group = template[position : end + 1]
            raise TemplateError(
                f"The group {group} has an empty alternative: remove the extra | or write a word in it."
            )
        pieces.append("".join(literal))
        literal = []
        pieces.append(stripped)
        position = end + 1
    pieces.append("".join(literal))
    return pieces


def _too_long(template: str) -> TemplateError | None:
    """A template longer than the API takes is refused before it is read: no expansion is longer than
    its template, and parsing or counting a huge paste would hold up the notebook for nothing."""
    if len(template) <= MAX_PREFERENCES_CHARS:
        return None
    return TemplateError(
        f"The prompt is {len(template):,} characters long; the limit is {MAX_PREFERENCES_CHARS:,}. "
        "Shorten the template."
    )


def _capped_count(groups: list[tuple[str, ...]], cap: int) -> int:
    """The product of the group sizes, or `cap + 1` as soon as it passes `cap`: never a big integer."""
    total = 1
    for group in groups:
        total *= len(group)
        if total > cap:
            return cap + 1
    return total


def variant_count(template: str) -> int:
    """How many prompts a template makes (1 for plain text), counted up to `MAX_VARIANTS + 1` (which
    means "too many"); raises TemplateError for a bad or too long template."""
    problem = _too_long(template)
    if problem is not None:
        raise problem
    return _capped_count([p for p in _parse(template) if isinstance(p, tuple)], MAX_VARIANTS)


def expand(template: str) -> list[Variant]:
    """Every prompt the template makes, first group varying slowest; checked before anything is sent.

    Raises TemplateError for a template over the API's length limit (before reading it), unbalanced
    braces, an empty alternative, or more than MAX_VARIANTS prompts.
    """
    problem = _too_long(template)
    if problem is not None:
        raise problem
    pieces = _parse(template)
    groups = [p for p in pieces if isinstance(p, tuple)]
    total = _capped_count(groups, _SHOWN_COUNT_LIMIT)
    if total > MAX_VARIANTS:
        varying = [len(g) for g in groups if len(g) > 1]
        sizes = " x ".join(str(n) for n in varying[:_SHOWN_GROUPS])
        if len(varying) > _SHOWN_GROUPS:
            sizes += f" x … ({len(varying)} groups)"
        makes = f"more than {_SHOWN_COUNT_LIMIT:,}" if total > _SHOWN_COUNT_LIMIT else f"{total:,}"
        raise TemplateError(
            f"This template makes {makes} prompts ({sizes}); the limit is {MAX_VARIANTS} per comparison. "
            "Remove some alternatives."
        )
    variants = []
    for combination in itertools.product(*groups):
        chosen = iter(combination)
        parts: list[tuple[str, bool]] = []
        for piece in pieces:
            if isinstance(piece, tuple):
                parts.append((next(chosen), True))
            elif piece:
                parts.append((piece, False))
        text = "".join(t for t, _ in parts)
        variants.append(Variant(text=text, choices=tuple(combination), parts=tuple(parts)))
    return variants
