"""The library search: every word, any order, no case, no accents; a template's text finds its pictures."""

from __future__ import annotations

import random
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qamera_widgets.engine.search import fold, matches, parse_query

PROMPT = "Rustic walnut table, morning window light"


@pytest.mark.parametrize("query", ["walnut morning", "morning walnut", "WALNUT   Morning", "rustic, light"])
def test_every_word_in_any_order_finds_the_prompt(query: str) -> None:
    assert matches(query, "", PROMPT)


def test_a_word_that_is_not_there_hides_it() -> None:
    assert not matches("walnut evening", "", PROMPT)
    assert not matches("oak", "Rustic table", PROMPT)


def test_accents_and_compatibility_forms_fold_on_both_sides() -> None:
    assert matches("creme brulee", "", "Crème brûlée on a marble counter")
    assert matches("CRÈME", "", "creme")
    assert matches("ﬁre", "", "Fireplace")  # the ligature decomposes to "fi"
    assert matches("strasse", "Straße at dusk", "")


def test_name_and_prompt_are_searched_together() -> None:
    assert matches("beach walnut", "Beach at noon", "walnut deck chairs")
    assert not matches("beach walnut", "Beach at noon", "")


def test_an_empty_or_punctuation_only_query_keeps_everything() -> None:
    assert parse_query("").empty and parse_query("  , ; ").empty and parse_query("{|}").empty
    assert matches("", "anything", "") and matches(" , ", "", "")


def test_template_syntax_finds_the_pictures_the_template_made() -> None:
    made = ["oak countertop, soft light", "marble countertop, soft light"]
    other = "oak floor, soft light"
    assert all(matches("{oak|marble} countertop", "", p) for p in made)
    assert not matches("{oak|marble} countertop", "", other)
    assert matches("{oak", "", made[0]) and not matches("{oak", "", made[1]), "an open brace is forgiving"
    assert matches("{dark oak|marble}", "", "marble sink") and not matches("{dark oak|marble}", "", "oak")


def test_the_query_is_parsed_into_terms_of_alternatives() -> None:
    assert parse_query("Walnut {oak|Marble top} x}").terms == (
        (("walnut",),),
        (("oak",), ("marble", "top")),
        (("x",),),
    )


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
_words = st.lists(st.from_regex(r"[A-Za-zÀ-ÿ]{1,8}", fullmatch=True), min_size=1, max_size=6)


@given(_text)
def test_fold_is_idempotent_and_leaves_no_marks_or_capitals(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert not any(unicodedata.combining(c) for c in folded)
    assert folded.casefold() == folded


@given(_words, st.randoms())
def test_any_order_and_any_case_of_the_prompts_words_matches(words: list[str], rng: random.Random) -> None:
    prompt = " ".join(words)
    query = list(words)
    rng.shuffle(query)
    assert matches(" ".join(w.upper() if rng.random() < 0.5 else w for w in query), "", prompt)


@given(_words, _words, _words)
def test_a_query_is_the_conjunction_of_its_words(
    prompt_words: list[str], left: list[str], right: list[str]
) -> None:
    prompt = " ".join(prompt_words)
    both = matches(" ".join(left + right), "", prompt)
    assert both == (matches(" ".join(left), "", prompt) and matches(" ".join(right), "", prompt))
