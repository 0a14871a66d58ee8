"""Prompt templates: every expansion is a prompt the API accepts, and counts multiply."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qamera_widgets.client.rules import validate_registration
from qamera_widgets.contract import MAX_PREFERENCES_CHARS
from qamera_widgets.engine.jobs.templates import (
    MAX_VARIANTS,
    TemplateError,
    expand,
    is_template,
    variant_count,
)

PLAIN = st.characters(blacklist_characters="{}|", blacklist_categories=["Cs"])
WORD = st.text(alphabet=PLAIN, min_size=1, max_size=12).filter(lambda w: w.strip() != "")
LITERAL = st.text(alphabet=PLAIN, max_size=20)


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """A template of literal text and 0-3 groups, with its groups' alternatives as written."""
    groups = draw(
        st.lists(st.lists(WORD, min_size=1, max_size=3), max_size=3).filter(
            lambda gs: math.prod(len(g) for g in gs) <= MAX_VARIANTS
        )
    )
    pieces = [draw(LITERAL)]
    for group in groups:
        pieces.append("{" + "|".join(group) + "}")
        pieces.append(draw(LITERAL))
    return "".join(pieces), groups


@given(templates())
def test_every_expansion_is_a_well_formed_prompt_and_counts_multiply(
    case: tuple[str, list[list[str]]],
) -> None:
    template, groups = case
    variants = expand(template)
    assert len(variants) == math.prod(len(g) for g in groups) == variant_count(template)
    for variant in variants:
        assert "{" not in variant.text and "}" not in variant.text
        assert "".join(text for text, _ in variant.parts) == variant.text
        assert [text for text, varies in variant.parts if varies] == list(variant.choices)
        assert len(variant.choices) == len(groups)
        pairs = zip(variant.choices, groups, strict=True)
        assert all(choice in [o.strip() for o in group] for choice, group in pairs)
        if variant.text.strip():
            assert validate_registration(variant.text, 1) == (variant.text, 1)


@given(templates())
def test_expansions_are_distinct_combinations_in_reading_order(case: tuple[str, list[list[str]]]) -> None:
    template, groups = case
    choices = [v.choices for v in expand(template)]
    stripped = [[o.strip() for o in g] for g in groups]
    assert choices == [tuple(c) for c in _product(stripped)]


def _product(groups: list[list[str]]) -> list[list[str]]:
    result: list[list[str]] = [[]]
    for group in groups:
        result = [[*prefix, option] for prefix in result for option in group]
    return result


def test_a_plain_prompt_is_one_variant_of_itself() -> None:
    [only] = expand("Sunlit marble countertop")
    assert only.text == "Sunlit marble countertop" and only.choices == ()
    assert not is_template("Sunlit marble countertop")


def test_the_example_from_the_issue_expands_to_six_with_the_varying_words_marked() -> None:
    variants = expand("{oak|marble|concrete} countertop, {soft morning|warm evening} light")
    assert [v.text for v in variants][:2] == [
        "oak countertop, soft morning light",
        "oak countertop, warm evening light",
    ]
    assert len(variants) == 6
    marked = (("marble", True), (" countertop, ", False), ("warm evening", True), (" light", False))
    assert variants[3].parts == marked


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{oak|marble countertop", "never closed"),
        ("oak} countertop", "closing brace without an opening"),
        ("{oak||marble} countertop", "empty alternative"),
        ("{oak| } countertop", "empty alternative"),
        ("{oak|{marble|slate}} countertop", "cannot be nested"),
        ("{a|b|c|d|e} {f|g|h|i|j}", "makes 25 prompts (5 x 5); the limit is 20"),
        ("{a|b} " + "x" * MAX_PREFERENCES_CHARS, "2,006 characters long; the limit is 2,000"),
    ],
)
def test_bad_templates_say_what_to_fix(template: str, says: str) -> None:
    with pytest.raises(TemplateError, match=says.replace("(", r"\(").replace(")", r"\)")):
        expand(template)


def test_twenty_variants_are_allowed_and_twenty_one_are_not() -> None:
    twenty = "{" + "|".join(f"w{i}" for i in range(MAX_VARIANTS)) + "} chair"
    assert len(expand(twenty)) == MAX_VARIANTS
    with pytest.raises(TemplateError):
        expand("{" + "|".join(f"w{i}" for i in range(MAX_VARIANTS + 1)) + "} chair")
